package stateful

import (
	"encoding/json"
	"math"

	"github.com/tributary-io/tributary/pipelines/process"
)

// Value is a decoded JSON document (or, for non-JSON bytes, the string).
type Value = any

// rawSerde encodes values as JSON and decodes them as pipelines'
// processors see values: JSON documents parsed (integers as int), other
// bytes as a string.
type rawSerde struct{}

func (rawSerde) Encode(v Value) ([]byte, error) { return json.Marshal(v) }

func (rawSerde) Decode(b []byte) (Value, error) { return process.DecodeValue(b), nil }

// acc is the aggregation state of one key (or window): enough for every op.
type acc struct {
	N     int64   `json:"n"`
	Sum   float64 `json:"sum"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Items []any   `json:"items,omitempty"`
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func (a acc) add(op string, v Value) acc {
	f, _ := toFloat(v)
	if a.N == 0 {
		a.Min, a.Max = f, f
	}
	a.N++
	a.Sum += f
	a.Min, a.Max = math.Min(a.Min, f), math.Max(a.Max, f)
	if op == "collect" {
		a.Items = append(a.Items, v)
	}
	return a
}

func (a acc) merge(b acc) acc {
	switch {
	case a.N == 0:
		return b
	case b.N == 0:
		return a
	}
	a.N += b.N
	a.Sum += b.Sum
	a.Min, a.Max = math.Min(a.Min, b.Min), math.Max(a.Max, b.Max)
	a.Items = append(a.Items, b.Items...)
	return a
}

func (a acc) result(op string) Value {
	switch op {
	case "count":
		return a.N
	case "sum":
		return a.Sum
	case "min":
		return a.Min
	case "max":
		return a.Max
	case "avg":
		if a.N == 0 {
			return 0.0
		}
		return a.Sum / float64(a.N)
	default:
		if a.Items == nil {
			return []any{}
		}
		return a.Items
	}
}
