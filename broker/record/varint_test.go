package record

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestReadVarintMatchesBinary checks readVarint's one- and two-byte fast path
// answers exactly as encoding/binary does, on canonical and odd encodings,
// truncated input and range limits.
func TestReadVarintMatchesBinary(t *testing.T) {
	var inputs [][]byte
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, -8193, 1 << 40, math.MinInt64, math.MaxInt64} {
		inputs = append(inputs, binary.AppendVarint(nil, v), append(binary.AppendVarint(nil, v), 0x05))
	}
	inputs = append(inputs,
		[]byte{}, []byte{0x80}, []byte{0xff}, []byte{0x80, 0x00}, []byte{0xff, 0x7f}, []byte{0xff, 0xff},
		[]byte{0x81, 0x80}, []byte{0x80, 0x80, 0x01})
	ranges := []struct{ lo, hi int64 }{{math.MinInt64, math.MaxInt64}, {-1, 100}, {0, 0}, {math.MinInt32, math.MaxInt32}}
	for _, in := range inputs {
		for p := 0; p <= len(in); p++ {
			for _, r := range ranges {
				want, wn := binary.Varint(in[p:])
				wantOK := wn > 0 && want >= r.lo && want <= r.hi
				got, next, ok := readVarint(in, p, r.lo, r.hi)
				if ok != wantOK || (ok && (got != want || next != p+wn)) || (!ok && next != p) {
					t.Errorf("readVarint(%x, %d, [%d,%d]) = %d, %d, %v; binary.Varint gives %d, %d (ok %v)",
						in, p, r.lo, r.hi, got, next, ok, want, wn, wantOK)
				}
			}
		}
	}
}
