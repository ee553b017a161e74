package streams

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Serde turns values of T into bytes and back. Keys and values crossing a
// topic (sources, sinks, repartition and changelog topics) go through one.
type Serde[T any] interface {
	// Encode returns the bytes of v.
	Encode(v T) ([]byte, error)
	// Decode parses b, which Encode produced (or another producer wrote).
	Decode(b []byte) (T, error)
}

// SerdeFuncs adapts two functions into a Serde.
type SerdeFuncs[T any] struct {
	EncodeFunc func(T) ([]byte, error)
	DecodeFunc func([]byte) (T, error)
}

// Encode calls EncodeFunc.
func (s SerdeFuncs[T]) Encode(v T) ([]byte, error) { return s.EncodeFunc(v) }

// Decode calls DecodeFunc.
func (s SerdeFuncs[T]) Decode(b []byte) (T, error) { return s.DecodeFunc(b) }

type stringSerde struct{}

func (stringSerde) Encode(v string) ([]byte, error) { return []byte(v), nil }
func (stringSerde) Decode(b []byte) (string, error) { return string(b), nil }

type bytesSerde struct{}

func (bytesSerde) Encode(v []byte) ([]byte, error) { return v, nil }
func (bytesSerde) Decode(b []byte) ([]byte, error) { return b, nil }

type int64Serde struct{}

func (int64Serde) Encode(v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(nil, uint64(v)), nil
}

func (int64Serde) Decode(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("int64 serde: want 8 bytes, got %d", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

type jsonSerde[T any] struct{}

func (jsonSerde[T]) Encode(v T) ([]byte, error) { return json.Marshal(v) }
func (jsonSerde[T]) Decode(b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

// String encodes strings as their UTF-8 bytes.
func String() Serde[string] { return stringSerde{} }

// Bytes passes bytes through unchanged.
func Bytes() Serde[[]byte] { return bytesSerde{} }

// Int64 encodes an int64 as 8 big-endian bytes (Kafka's LongSerializer
// layout, so Java consumers read it).
func Int64() Serde[int64] { return int64Serde{} }

// JSON encodes T with encoding/json.
func JSON[T any]() Serde[T] { return jsonSerde[T]{} }

// Windowed is the key of a windowed aggregation result: the grouping key and
// the window [Start, End) in milliseconds of event time.
type Windowed[K any] struct {
	Key        K
	Start, End int64
}

type windowedSerde[K any] struct{ inner Serde[K] }

func (s windowedSerde[K]) Encode(w Windowed[K]) ([]byte, error) {
	b, err := s.inner.Encode(w.Key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b...)
	out = binary.BigEndian.AppendUint64(out, uint64(w.Start))
	return binary.BigEndian.AppendUint64(out, uint64(w.End)), nil
}

func (s windowedSerde[K]) Decode(b []byte) (Windowed[K], error) {
	var w Windowed[K]
	if len(b) < 16 {
		return w, fmt.Errorf("windowed serde: %d bytes is shorter than the two timestamps", len(b))
	}
	k, err := s.inner.Decode(b[:len(b)-16])
	if err != nil {
		return w, err
	}
	w.Key = k
	w.Start = int64(binary.BigEndian.Uint64(b[len(b)-16:]))
	w.End = int64(binary.BigEndian.Uint64(b[len(b)-8:]))
	return w, nil
}

// WindowedSerde encodes a Windowed key as the inner key's bytes followed by
// the window start and end as 8 big-endian bytes each.
func WindowedSerde[K any](inner Serde[K]) Serde[Windowed[K]] { return windowedSerde[K]{inner} }

// anySerde is a Serde erased to any, which the untyped core uses.
type anySerde struct {
	enc func(any) ([]byte, error)
	dec func([]byte) (any, error)
}

func erase[T any](s Serde[T]) anySerde {
	return anySerde{
		enc: func(v any) ([]byte, error) {
			t, ok := v.(T)
			if !ok && v != nil {
				return nil, fmt.Errorf("serde: got %T, want %T", v, t)
			}
			return s.Encode(t)
		},
		dec: func(b []byte) (any, error) { return s.Decode(b) },
	}
}
