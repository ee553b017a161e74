package process

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkChainFilterMap is the per-record cost of the processors of the
// e2e benchmark pipeline (filter + map with a key and a JSON value),
// against the same work written by hand with encoding/json.
func BenchmarkChainFilterMap(b *testing.B) {
	values := make([][]byte, 1000)
	for i := range values {
		values[i] = fmt.Appendf(nil, `{"id":%d,"tag":"t-%d","padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`, i, i%7)
	}
	b.Run("pipeline", func(b *testing.B) {
		c := compileYAML(b, "    - filter: 'value.id % 10 != 3'\n    - map:\n        key: string(value.id)\n        value: '{\"id\": value.id, \"double\": value.id * 2, \"tag\": value.tag}'\n").NewChain()
		b.ReportAllocs()
		for i := range b.N {
			m := NewMessage(nil, values[i%len(values)])
			keep, err := c.Process(m)
			if err != nil {
				b.Fatal(err)
			}
			if keep {
				if _, err := m.ValueBytes(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			var v map[string]any
			if err := json.Unmarshal(values[i%len(values)], &v); err != nil {
				b.Fatal(err)
			}
			id, _ := v["id"].(float64)
			if int(id)%10 == 3 {
				continue
			}
			if _, err := json.Marshal(map[string]any{"id": int(id), "double": int(id) * 2, "tag": v["tag"]}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
