package record

import (
	"encoding/binary"
	"fmt"
	"math"
)

// minRecordSize is the smallest encoded record: one byte each for length,
// attributes, timestampDelta, offsetDelta, keyLen, valueLen and headerCount.
// It bounds how many records a payload can hold, so a lying recordCount cannot
// make Records preallocate a huge slice.
const minRecordSize = 7

// ValidateRecords decodes (decompressing if needed) every record of the batch in b
// and checks the count equals NumRecords and offset deltas are increasing and end at
// LastOffsetDelta. It returns ErrInvalidRecord (wrapped) on disagreement.
//
// Malformed record bytes (bad varints, lengths past the end, trailing bytes inside
// a record, undecodable compressed data) fail with ErrCorrupt. b must be exactly
// one batch; the CRC is not checked here (Validate does that). The walk does not
// allocate per record, and a compressed payload is inflated into a pooled buffer.
func ValidateRecords(b []byte) error {
	h, payload, err := recordsPayload(b)
	if err != nil {
		return err
	}
	data := payload
	var scratch *[]byte
	if h.Compression() != None && len(payload) > 0 {
		scratch = getScratch()
		defer putScratch(scratch)
		*scratch, err = decompress(*scratch, h.Compression(), payload)
		if err != nil {
			return fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
		}
		data = *scratch
	}
	s := scanner{h: h, data: data}
	var rec Record
	for s.more() {
		if err := s.next(&rec, false); err != nil {
			return err
		}
	}
	return s.finish()
}

// Records decodes every record of the batch, decompressing as needed. The returned
// slices may alias b (uncompressed) or a fresh buffer (compressed).
//
// It checks what ValidateRecords checks and fails the same way. b must be exactly
// one batch; the CRC is not checked. Key, Value and header values are nil when
// null on the wire and capacity-clipped, so appending to one never overwrites the
// next.
func Records(b []byte) ([]Record, error) {
	h, payload, err := recordsPayload(b)
	if err != nil {
		return nil, err
	}
	data := payload
	if h.Compression() != None && len(payload) > 0 {
		// A fresh buffer, not a pooled one: the records alias it.
		if data, err = decompress(nil, h.Compression(), payload); err != nil {
			return nil, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
		}
	}
	recs := make([]Record, 0, min(int(h.NumRecords), len(data)/minRecordSize))
	s := scanner{h: h, data: data}
	for s.more() {
		recs = append(recs, Record{})
		if err := s.next(&recs[len(recs)-1], true); err != nil {
			return nil, err
		}
	}
	if err := s.finish(); err != nil {
		return nil, err
	}
	return recs, nil
}

// recordsPayload checks the header and length of the single batch in b and
// returns its record bytes (still compressed).
func recordsPayload(b []byte) (Header, []byte, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, nil, err
	}
	if err := checkLength(b, h); err != nil {
		return h, nil, err
	}
	if h.NumRecords < 0 {
		return h, nil, fmt.Errorf("batch at offset %d: negative record count %d: %w", h.BaseOffset, h.NumRecords, ErrInvalidRecord)
	}
	if c := h.Compression(); !c.valid() {
		return h, nil, fmt.Errorf("batch at offset %d: unknown compression codec %d: %w", h.BaseOffset, int8(c), ErrInvalidRecord)
	}
	return h, b[HeaderSize:], nil
}

// scanner walks the records of one batch in place, checking them against the
// header as it goes.
type scanner struct {
	h         Header
	data      []byte // uncompressed records
	pos       int
	count     int32 // records decoded so far
	lastDelta int32 // offsetDelta of the previous record
}

// more reports whether bytes remain to decode.
func (s *scanner) more() bool { return s.pos < len(s.data) }

// next decodes the record at the current position into rec. Headers are decoded
// into rec.Headers only when keepHeaders is set; otherwise they are only walked,
// so the caller pays no allocation.
func (s *scanner) next(rec *Record, keepHeaders bool) error {
	start := s.pos
	length, p, ok := readVarint(s.data, s.pos, math.MinInt32, math.MaxInt32)
	if !ok || length < 0 || length > int64(len(s.data)-p) {
		return s.corrupt(start, "bad record length")
	}
	end := p + int(length)
	body := s.data[:end] // every field read below must lie inside this record
	if p >= end {
		return s.corrupt(start, "record without attributes")
	}
	rec.Attributes = int8(body[p])
	p++
	if rec.TimestampDelta, p, ok = readVarint(body, p, math.MinInt64, math.MaxInt64); !ok {
		return s.corrupt(start, "bad timestampDelta")
	}
	var delta int64
	if delta, p, ok = readVarint(body, p, math.MinInt32, math.MaxInt32); !ok {
		return s.corrupt(start, "bad offsetDelta")
	}
	rec.OffsetDelta = int32(delta)
	if rec.Key, p, ok = readBytes(body, p, true); !ok {
		return s.corrupt(start, "bad key")
	}
	if rec.Value, p, ok = readBytes(body, p, true); !ok {
		return s.corrupt(start, "bad value")
	}
	var n int64
	// Each header takes at least two bytes, which bounds the count before any
	// allocation.
	if n, p, ok = readVarint(body, p, 0, int64(end-p)/2); !ok {
		return s.corrupt(start, "bad header count")
	}
	rec.Headers = nil
	if keepHeaders && n > 0 {
		rec.Headers = make([]RecordHeader, n)
	}
	for i := range int(n) {
		var key, value []byte
		if key, p, ok = readBytes(body, p, false); !ok {
			return s.corrupt(start, "bad header key")
		}
		if value, p, ok = readBytes(body, p, true); !ok {
			return s.corrupt(start, "bad header value")
		}
		if keepHeaders {
			rec.Headers[i] = RecordHeader{Key: string(key), Value: value}
		}
	}
	if p != end {
		return s.corrupt(start, "trailing bytes in record")
	}
	s.pos = end
	return s.check(rec.OffsetDelta)
}

// check verifies one record's place in the batch: within the declared count and
// with an offset delta above the previous one and not past lastOffsetDelta.
func (s *scanner) check(delta int32) error {
	h := s.h
	if s.count >= h.NumRecords {
		return fmt.Errorf("batch at offset %d declares %d records but holds more: %w", h.BaseOffset, h.NumRecords, ErrInvalidRecord)
	}
	if delta < 0 || (s.count > 0 && delta <= s.lastDelta) || delta > h.LastOffsetDelta {
		return fmt.Errorf("batch at offset %d: record %d has offsetDelta %d (previous %d, last %d): %w",
			h.BaseOffset, s.count, delta, s.lastDelta, h.LastOffsetDelta, ErrInvalidRecord)
	}
	s.count++
	s.lastDelta = delta
	return nil
}

// finish checks the totals once every record is decoded.
func (s *scanner) finish() error {
	h := s.h
	if s.count != h.NumRecords {
		return fmt.Errorf("batch at offset %d declares %d records but holds %d: %w", h.BaseOffset, h.NumRecords, s.count, ErrInvalidRecord)
	}
	if s.count > 0 && s.lastDelta != h.LastOffsetDelta {
		return fmt.Errorf("batch at offset %d: last record has offsetDelta %d, header says %d: %w",
			h.BaseOffset, s.lastDelta, h.LastOffsetDelta, ErrInvalidRecord)
	}
	return nil
}

// corrupt reports a malformed record starting at pos.
func (s *scanner) corrupt(pos int, what string) error {
	return fmt.Errorf("batch at offset %d: record %d at byte %d: %s: %w", s.h.BaseOffset, s.count, pos, what, ErrCorrupt)
}

// readVarint decodes a zig-zag varint at b[p:] and checks it lies in [lo, hi].
func readVarint(b []byte, p int, lo, hi int64) (int64, int, bool) {
	// Fast path for one- and two-byte varints, which are nearly every field of
	// a record (deltas, lengths below 8 KiB, header counts): validation runs
	// over every record of every produced batch, and binary.Varint is a call.
	if p+1 < len(b) && b[p+1] < 0x80 || p < len(b) && b[p] < 0x80 {
		ux, n := uint64(b[p]), 1
		if ux >= 0x80 {
			ux, n = ux&0x7f|uint64(b[p+1])<<7, 2
		}
		v := int64(ux >> 1)
		if ux&1 != 0 {
			v = ^v
		}
		if v < lo || v > hi {
			return 0, p, false
		}
		return v, p + n, true
	}
	v, n := binary.Varint(b[p:])
	if n <= 0 || v < lo || v > hi {
		return 0, p, false
	}
	return v, p + n, true
}

// readBytes decodes a varint length and that many bytes. Length -1 means null
// (returned as nil) when nullable. The result is capacity-clipped.
func readBytes(b []byte, p int, nullable bool) ([]byte, int, bool) {
	n, p, ok := readVarint(b, p, -1, int64(len(b)-p))
	if !ok || (n < 0 && !nullable) {
		return nil, p, false
	}
	if n < 0 {
		return nil, p, true
	}
	end := p + int(n)
	if end > len(b) {
		return nil, p, false
	}
	return b[p:end:end], end, true
}

// appendRecord appends the wire form of r.
func appendRecord(dst []byte, r *Record) []byte {
	dst = binary.AppendVarint(dst, int64(recordBodySize(r)))
	dst = append(dst, byte(r.Attributes))
	dst = binary.AppendVarint(dst, r.TimestampDelta)
	dst = binary.AppendVarint(dst, int64(r.OffsetDelta))
	dst = appendBytes(dst, r.Key)
	dst = appendBytes(dst, r.Value)
	dst = binary.AppendVarint(dst, int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendBytes(dst, h.Value)
	}
	return dst
}

// appendBytes appends a varint length (-1 for nil) and b.
func appendBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// recordBodySize is the encoded size of r after its length varint.
func recordBodySize(r *Record) int {
	n := 1 + varintSize(r.TimestampDelta) + varintSize(int64(r.OffsetDelta)) +
		bytesSize(r.Key) + bytesSize(r.Value) + varintSize(int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		n += varintSize(int64(len(h.Key))) + len(h.Key) + bytesSize(h.Value)
	}
	return n
}

// recordSize is the whole encoded size of r, length varint included.
func recordSize(r *Record) int {
	body := recordBodySize(r)
	return varintSize(int64(body)) + body
}

// bytesSize is the encoded size of a nullable byte field.
func bytesSize(b []byte) int {
	if b == nil {
		return varintSize(-1)
	}
	return varintSize(int64(len(b))) + len(b)
}

// varintSize is the length of the zig-zag varint encoding of v.
func varintSize(v int64) int {
	u := uint64(v)<<1 ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}
