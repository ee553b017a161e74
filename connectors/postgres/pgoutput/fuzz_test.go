package pgoutput

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the decoders: they must never panic,
// and a message Parse accepts must encode back to the same bytes (the
// decoder neither drops nor invents fields).
func FuzzParse(f *testing.F) {
	for _, m := range messages {
		f.Add(encode(m))
	}
	for _, sc := range scenarios {
		for _, p := range readStream(f, sc.name) {
			f.Add(p)
			if x, err := ParseStreamMessage(p); err == nil {
				f.Add(x.(*XLogData).Data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if x, err := ParseStreamMessage(data); err == nil {
			if xl, ok := x.(*XLogData); ok && !bytes.Equal(xl.Data, data[25:]) {
				t.Fatalf("XLogData data does not alias the payload")
			}
		}
		m, err := Parse(data)
		if err != nil {
			return
		}
		if again := encode(m); !bytes.Equal(again, data) {
			t.Fatalf("Parse(%x) = %#v, which encodes to %x", data, m, again)
		}
	})
}
