package process

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Header is one record header. Kafka allows repeated names; expressions see
// the last value of each name.
type Header struct {
	Key   string
	Value []byte
}

// Message is a record going through a pipeline. The value is kept both as
// bytes and decoded, each made from the other on demand, so a record that
// no processor changes leaves with exactly the bytes it came with.
type Message struct {
	// Key is nil for a record without a key.
	Key       []byte
	Headers   []Header
	Timestamp time.Time
	// Topic, Partition and Offset say where the record was read. They do not
	// change where it is written.
	Topic     string
	Partition int32
	Offset    int64

	raw      []byte // the value's bytes, valid when rawValid
	rawValid bool
	val      any // the decoded value, valid when decoded
	decoded  bool
	gen      uint64 // bumped on every change, so cached views are redone

	// outputs, set by a route processor, names the outputs the record goes
	// to; nil sends it to every output.
	outputs []string
}

// NewMessage returns a message whose value is raw (nil for a null value).
func NewMessage(key, raw []byte) *Message {
	return &Message{Key: key, raw: raw, rawValid: true}
}

// Value returns the decoded value: the parsed JSON when the bytes are a JSON
// document (objects as map[string]any, integers as int, other numbers as
// float64), the bytes as a string otherwise, nil for a null value.
func (m *Message) Value() any {
	if !m.decoded {
		m.val, m.decoded = DecodeValue(m.raw), true
	}
	return m.val
}

// SetValue replaces the value. v is what expressions produce: nil, string,
// []byte, bool, numbers, maps and slices.
func (m *Message) SetValue(v any) {
	m.val, m.decoded = v, true
	m.raw, m.rawValid = nil, false
	m.gen++
}

// SetRawValue replaces the value with bytes.
func (m *Message) SetRawValue(raw []byte) {
	m.raw, m.rawValid = raw, true
	m.val, m.decoded = nil, false
	m.gen++
}

// changedValue records that the decoded value was modified in place.
func (m *Message) changedValue() {
	m.Value()
	m.raw, m.rawValid = nil, false
	m.gen++
}

// changed records a change of key, headers or timestamp.
func (m *Message) changed() { m.gen++ }

// ValueBytes returns the value as written to an output: the original bytes
// when nothing changed it, strings and []byte as they are, anything else as
// JSON.
func (m *Message) ValueBytes() ([]byte, error) {
	if m.rawValid {
		return m.raw, nil
	}
	b, err := EncodeValue(m.val)
	if err != nil {
		return nil, err
	}
	m.raw, m.rawValid = b, true
	return b, nil
}

// Outputs returns the outputs a route processor chose; nil means all.
func (m *Message) Outputs() []string { return m.outputs }

// Header returns the last value of the header called name.
func (m *Message) Header(name string) ([]byte, bool) {
	for i := len(m.Headers) - 1; i >= 0; i-- {
		if m.Headers[i].Key == name {
			return m.Headers[i].Value, true
		}
	}
	return nil, false
}

// SetHeader replaces every header called name with one.
func (m *Message) SetHeader(name string, value []byte) {
	m.DeleteHeader(name)
	m.Headers = append(m.Headers, Header{Key: name, Value: value})
}

// DeleteHeader removes every header called name.
func (m *Message) DeleteHeader(name string) {
	kept := m.Headers[:0]
	for _, h := range m.Headers {
		if h.Key != name {
			kept = append(kept, h)
		}
	}
	clear(m.Headers[len(kept):])
	m.Headers = kept
	m.changed()
}

// DecodeValue is the value an expression sees for raw bytes; see
// Message.Value.
func DecodeValue(raw []byte) any {
	if raw == nil {
		return nil
	}
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return string(raw)
	}
	switch c := t[0]; {
	case c == '{', c == '[', c == '"', c == 't', c == 'f', c == 'n', c == '-', c >= '0' && c <= '9':
		if v, err := ParseJSON(t); err == nil {
			return v
		}
	}
	return string(raw)
}

// errTrailing is a JSON document followed by more than white space.
var errTrailing = errors.New("unexpected data after the JSON document")

// ParseJSON parses exactly one JSON document. Integers that fit become int
// so ids keep every digit; other numbers become float64.
func ParseJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errTrailing
	}
	return normalize(v), nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil && i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
		f, err := x.Float64()
		if err != nil {
			return string(x)
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}

// EncodeValue is how a value is written to a record: nil as a null value,
// strings and []byte as their bytes, everything else as JSON without HTML
// escaping.
func EncodeValue(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(x), nil
	case []byte:
		return x, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode value as JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// textOf is how an expression result becomes a key or header: strings and
// bytes as they are, nil as nil, other values as JSON.
func textOf(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(x), nil
	case []byte:
		return x, nil
	case time.Time:
		return []byte(x.UTC().Format(time.RFC3339Nano)), nil
	}
	return EncodeValue(v)
}
