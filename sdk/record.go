package sdk

import "time"

// Position is an opaque source position. Only the Source that produced it
// interprets it; the host stores and returns it unchanged.
type Position []byte

// Header is one record header. Keys may repeat.
type Header struct {
	Key   string
	Value []byte
}

// Record is one record crossing the plugin boundary.
type Record struct {
	// Key and Value are the record's payload; nil means null (a nil Value is a
	// tombstone in a compacted topic), an empty non-nil slice means empty.
	Key   []byte
	Value []byte
	// Headers travel with the record in order.
	Headers []Header
	// Timestamp is the record's event time; the zero value lets the host use
	// the time it writes the record.
	Timestamp time.Time
	// Topic: for a source, an optional target topic overriding the connector's;
	// for a sink, the topic the record was read from.
	Topic string
	// Partition and Offset are set on records handed to a sink: where the
	// record was read from. Sources leave them zero.
	Partition int32
	Offset    int64
	// Position is set by a source on every record: opening the source at it
	// resumes with the next record.
	Position Position
}

// Size is the number of payload bytes the record carries (key, value, header
// keys and values, position). Batches are bounded by the sum of Size.
func (r *Record) Size() int {
	n := len(r.Key) + len(r.Value) + len(r.Topic) + len(r.Position)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// HeaderValue returns the value of the first header named key, and whether
// there is one.
func (r *Record) HeaderValue(key string) ([]byte, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return nil, false
}
