package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// validBatch returns a small uncompressed batch built by Build.
func validBatch(t testing.TB) []byte {
	t.Helper()
	b, err := Build(BatchSpec{
		BaseOffset: 42, PartitionLeaderEpoch: 3, BaseTimestamp: 1000,
		ProducerID: 7, ProducerEpoch: 1, BaseSequence: 5,
	}, sampleRecords(4))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// patched copies b and applies fn; fixCRC recomputes the CRC afterwards so only
// the intended defect remains.
func patched(b []byte, fixCRC bool, fn func(b []byte)) []byte {
	c := bytes.Clone(b)
	fn(c)
	if fixCRC {
		setCRC(c)
	}
	return c
}

func TestHeaderMethods(t *testing.T) {
	tests := []struct {
		attrs                       int16
		codec                       Compression
		txn, control, logAppendTime bool
	}{
		{attrs: 0, codec: None},
		{attrs: 0x01, codec: Gzip},
		{attrs: 0x02 | AttrTransactional, codec: Snappy, txn: true},
		{attrs: 0x03 | AttrControl | AttrTransactional, codec: LZ4, txn: true, control: true},
		{attrs: 0x04 | AttrLogAppendTime, codec: Zstd, logAppendTime: true},
		{attrs: AttrDeleteHorizon | AttrControl, codec: None, control: true},
	}
	for _, tc := range tests {
		h := Header{BaseOffset: 100, BatchLength: 70, LastOffsetDelta: 9, Attributes: tc.attrs}
		if got := h.Compression(); got != tc.codec {
			t.Errorf("attrs %#x: Compression = %v, want %v", tc.attrs, got, tc.codec)
		}
		if h.IsTransactional() != tc.txn || h.IsControl() != tc.control || h.LogAppendTime() != tc.logAppendTime {
			t.Errorf("attrs %#x: txn/control/logAppendTime = %v/%v/%v, want %v/%v/%v", tc.attrs,
				h.IsTransactional(), h.IsControl(), h.LogAppendTime(), tc.txn, tc.control, tc.logAppendTime)
		}
		if h.Size() != 82 || h.LastOffset() != 109 {
			t.Errorf("Size/LastOffset = %d/%d, want 82/109", h.Size(), h.LastOffset())
		}
	}
}

func TestParseHeader(t *testing.T) {
	good := validBatch(t)
	want := Header{
		BaseOffset: 42, BatchLength: int32(len(good) - 12), PartitionLeaderEpoch: 3, Magic: 2,
		CRC: binary.BigEndian.Uint32(good[17:]), LastOffsetDelta: sampleRecords(4)[3].OffsetDelta,
		BaseTimestamp: 1000, MaxTimestamp: 1000 + 8, ProducerID: 7, ProducerEpoch: 1,
		BaseSequence: 5, NumRecords: 4,
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"valid", good, nil},
		{"header only, records missing", good[:HeaderSize], nil}, // ParseHeader does not check the length
		{"empty", nil, ErrTooShort},
		{"one byte short", good[:HeaderSize-1], ErrTooShort},
		{"magic 1", patched(good, false, func(b []byte) { b[offMagic] = 1 }), ErrUnsupportedMagic},
		{"magic 3", patched(good, false, func(b []byte) { b[offMagic] = 3 }), ErrUnsupportedMagic},
		{"batchLength 48", patched(good, false, func(b []byte) { binary.BigEndian.PutUint32(b[offBatchLength:], 48) }), ErrCorrupt},
		{"batchLength negative", patched(good, false, func(b []byte) { binary.BigEndian.PutUint32(b[offBatchLength:], 0xffffffff) }), ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHeader(tc.in)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && h != want {
				t.Fatalf("header = %+v\nwant     %+v", h, want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := validBatch(t)
	empty, err := Build(BatchSpec{BaseOffset: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	put32 := func(off int, v uint32) func([]byte) {
		return func(b []byte) { binary.BigEndian.PutUint32(b[off:], v) }
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"valid", good, nil},
		{"valid empty batch", empty, nil},
		{"patched outside CRC still valid", patched(good, false, func(b []byte) {
			SetBaseOffset(b, 1<<40)
			SetPartitionLeaderEpoch(b, 99)
		}), nil},
		{"empty input", nil, ErrTooShort},
		{"short header", good[:30], ErrTooShort},
		{"truncated records", good[:len(good)-1], ErrTooShort},
		{"trailing byte", append(bytes.Clone(good), 0), ErrCorrupt},
		{"length says more", patched(good, false, put32(offBatchLength, uint32(len(good)-12+1))), ErrTooShort},
		{"length says less", patched(good, false, put32(offBatchLength, uint32(len(good)-12-1))), ErrCorrupt},
		{"length below minimum", patched(good, false, put32(offBatchLength, 10)), ErrCorrupt},
		{"wrong magic", patched(good, true, func(b []byte) { b[offMagic] = 1 }), ErrUnsupportedMagic},
		{"flipped CRC", patched(good, false, func(b []byte) { b[offCRC] ^= 1 }), ErrCRC},
		{"flipped record byte", patched(good, false, func(b []byte) { b[len(b)-1] ^= 0x80 }), ErrCRC},
		{"flipped attributes", patched(good, false, func(b []byte) { b[offAttributes+1] ^= 0x10 }), ErrCRC},
		{"negative count", patched(good, true, put32(offRecordCount, 0xffffffff)), ErrInvalidRecord},
		{"negative lastOffsetDelta", patched(good, true, put32(offLastOffsetDelta, 0xfffffffe)), ErrInvalidRecord},
		{"lastOffsetDelta below count-1", patched(good, true, put32(offLastOffsetDelta, 2)), ErrInvalidRecord},
		{"count above lastOffsetDelta+1, header only", patched(good, true, put32(offRecordCount, 100)), ErrInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Validate(tc.in)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && h.Size() != len(tc.in) {
				t.Fatalf("Size = %d, len = %d", h.Size(), len(tc.in))
			}
		})
	}
}

func TestNext(t *testing.T) {
	a := validBatch(t)
	b, err := Build(BatchSpec{BaseOffset: 46, Compression: Zstd}, sampleRecords(9))
	if err != nil {
		t.Fatal(err)
	}
	stream := append(append(bytes.Clone(a), b...), a[:HeaderSize+3]...) // torn third batch

	var got [][]byte
	rest := stream
	for range 10 { // bounded: the stream holds three batches
		batch, r, h, err := Next(rest)
		if err != nil {
			if !errors.Is(err, ErrTooShort) {
				t.Fatalf("torn tail: err = %v, want ErrTooShort", err)
			}
			if batch != nil || len(r) != HeaderSize+3 || h.BaseOffset != 42 {
				t.Fatalf("torn tail: batch %v, rest %d bytes, header %+v", batch != nil, len(r), h)
			}
			break
		}
		if h.Size() != len(batch) || cap(batch) != len(batch) {
			t.Fatalf("batch len %d cap %d, header size %d", len(batch), cap(batch), h.Size())
		}
		got = append(got, batch)
		rest = r
	}
	if len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
		t.Fatalf("split into %d batches, want the two written", len(got))
	}

	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"empty", nil, ErrTooShort},
		{"partial header", a[:20], ErrTooShort},
		{"partial records", a[:len(a)-1], ErrTooShort},
		{"bad magic", patched(a, false, func(b []byte) { b[offMagic] = 0 }), ErrUnsupportedMagic},
		{"bad length", patched(a, false, func(b []byte) { binary.BigEndian.PutUint32(b[offBatchLength:], 3) }), ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			batch, rest, _, err := Next(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if batch != nil || len(rest) != len(tc.in) {
				t.Fatalf("on error: batch %v, rest %d bytes, want nil and the input", batch != nil, len(rest))
			}
		})
	}
}

func TestSetters(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			b, err := Build(BatchSpec{BaseTimestamp: 500, Compression: c, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, sampleRecords(6))
			if err != nil {
				t.Fatal(err)
			}
			before, err := Validate(b)
			if err != nil {
				t.Fatal(err)
			}
			SetBaseOffset(b, 1234)
			SetPartitionLeaderEpoch(b, 17)
			h, err := Validate(b)
			if err != nil {
				t.Fatalf("after patching base offset and epoch: %v", err)
			}
			if h.BaseOffset != 1234 || h.PartitionLeaderEpoch != 17 || h.CRC != before.CRC {
				t.Fatalf("header %+v: base offset, epoch or CRC wrong", h)
			}

			SetLogAppendTime(b, 99_000)
			h, err = Validate(b)
			if err != nil {
				t.Fatalf("after SetLogAppendTime: %v", err)
			}
			if !h.LogAppendTime() || h.MaxTimestamp != 99_000 || h.BaseTimestamp != 500 || h.Compression() != c {
				t.Fatalf("header %+v after SetLogAppendTime(99000)", h)
			}
			if err := ValidateRecords(b); err != nil {
				t.Fatalf("records after SetLogAppendTime: %v", err)
			}
		})
	}
}
