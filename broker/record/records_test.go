package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func TestBuildRecordsRoundTrip(t *testing.T) {
	sizes := []int{1, 5, 200}
	for _, c := range allCodecs {
		for _, n := range sizes {
			recs := sampleRecords(n)
			spec := BatchSpec{
				BaseOffset: 1000, PartitionLeaderEpoch: 2, Compression: c, BaseTimestamp: 1_700_000_000_000,
				ProducerID: 9, ProducerEpoch: 3, BaseSequence: 77, Attributes: AttrTransactional | AttrCompressionMask,
			}
			b, err := Build(spec, recs)
			if err != nil {
				t.Fatalf("%v/%d: Build: %v", c, n, err)
			}
			h, err := Validate(b)
			if err != nil {
				t.Fatalf("%v/%d: Validate: %v", c, n, err)
			}
			if h.Compression() != c || !h.IsTransactional() || h.NumRecords != int32(n) ||
				h.LastOffsetDelta != recs[n-1].OffsetDelta || h.BaseSequence != 77 || h.ProducerID != 9 {
				t.Fatalf("%v/%d: header %+v", c, n, h)
			}
			if err := ValidateRecords(b); err != nil {
				t.Fatalf("%v/%d: ValidateRecords: %v", c, n, err)
			}
			got, err := Records(b)
			if err != nil {
				t.Fatalf("%v/%d: Records: %v", c, n, err)
			}
			// DeepEqual tells nil from empty, so null keys, values and header
			// values must survive as nil and empty ones as empty.
			if !reflect.DeepEqual(got, recs) {
				t.Fatalf("%v/%d: records differ\n got %+v\nwant %+v", c, n, got[:min(3, len(got))], recs[:min(3, len(recs))])
			}
		}
	}
}

func TestBuildHeaderFields(t *testing.T) {
	recs := []Record{{OffsetDelta: 0, TimestampDelta: 5}, {OffsetDelta: 4, TimestampDelta: -3}, {OffsetDelta: 9, TimestampDelta: 2}}
	tests := []struct {
		name          string
		spec          BatchSpec
		recs          []Record
		wantMaxTS     int64
		wantLastDelta int32
		wantCodec     Compression
		wantErr       error
	}{
		{"computed max timestamp", BatchSpec{BaseTimestamp: 100}, recs, 105, 9, None, nil},
		{"given max timestamp", BatchSpec{BaseTimestamp: 100, MaxTimestamp: 7}, recs, 7, 9, None, nil},
		{"negative deltas only", BatchSpec{BaseTimestamp: 100}, recs[1:2], 100, 4, None, nil},
		{"empty batch is uncompressed", BatchSpec{BaseTimestamp: 100, Compression: Zstd}, nil, 100, 0, None, nil},
		{"unknown codec", BatchSpec{Compression: 5}, recs, 0, 0, None, ErrInvalidRecord},
		{"negative codec", BatchSpec{Compression: -1}, recs, 0, 0, None, ErrInvalidRecord},
		{"decreasing deltas", BatchSpec{}, []Record{{OffsetDelta: 2}, {OffsetDelta: 1}}, 0, 0, None, ErrInvalidRecord},
		{"repeated delta", BatchSpec{}, []Record{{OffsetDelta: 2}, {OffsetDelta: 2}}, 0, 0, None, ErrInvalidRecord},
		{"negative delta", BatchSpec{}, []Record{{OffsetDelta: -1}}, 0, 0, None, ErrInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(tc.spec, tc.recs)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			h, err := Validate(b)
			if err != nil {
				t.Fatal(err)
			}
			if h.MaxTimestamp != tc.wantMaxTS || h.LastOffsetDelta != tc.wantLastDelta || h.Compression() != tc.wantCodec {
				t.Fatalf("maxTS/lastDelta/codec = %d/%d/%v, want %d/%d/%v", h.MaxTimestamp, h.LastOffsetDelta,
					h.Compression(), tc.wantMaxTS, tc.wantLastDelta, tc.wantCodec)
			}
			if err := ValidateRecords(b); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// recordBytes hand-encodes one record from already-encoded fields, with a correct
// length prefix unless length is given (>= 0).
func recordBytes(length int, fields ...[]byte) []byte {
	body := bytes.Join(fields, nil)
	if length < 0 {
		length = len(body)
	}
	return append(binary.AppendVarint(nil, int64(length)), body...)
}

// vi is a zig-zag varint.
func vi(v int64) []byte { return binary.AppendVarint(nil, v) }

func TestRecordErrors(t *testing.T) {
	attr := []byte{0}
	// okRecord is a minimal valid record: null key, value "v", no headers.
	okRecord := func(delta int64) []byte {
		return recordBytes(-1, attr, vi(0), vi(delta), vi(-1), vi(1), []byte("v"), vi(0))
	}
	two := append(okRecord(0), okRecord(1)...)
	tests := []struct {
		name    string
		batch   []byte
		wantErr error
	}{
		{"valid", rawBatch(None, 2, 1, two), nil},
		{"valid empty", rawBatch(None, 0, 0, nil), nil},
		{"valid empty with codec", rawBatch(Zstd, 0, 5, nil), nil},
		{"count too high", rawBatch(None, 3, 1, two), ErrInvalidRecord},
		{"count too low", rawBatch(None, 1, 1, two), ErrInvalidRecord},
		{"negative count", rawBatch(None, -1, 1, two), ErrInvalidRecord},
		{"last delta mismatch", rawBatch(None, 2, 2, two), ErrInvalidRecord},
		{"delta past last", rawBatch(None, 2, 0, two), ErrInvalidRecord},
		{"deltas not increasing", rawBatch(None, 2, 1, append(okRecord(1), okRecord(1)...)), ErrInvalidRecord},
		{"negative delta", rawBatch(None, 1, 0, okRecord(-1)), ErrInvalidRecord},
		{"unknown codec 5", rawBatch(5, 2, 1, two), ErrInvalidRecord},
		{"unknown codec 7 on empty", rawBatch(7, 0, 0, nil), ErrInvalidRecord},
		{"truncated record", rawBatch(None, 2, 1, two[:len(two)-1]), ErrCorrupt},
		{"garbage after records", rawBatch(None, 2, 1, append(bytes.Clone(two), 0)), ErrCorrupt},
		{"length past end", rawBatch(None, 1, 0, recordBytes(100, attr, vi(0), vi(0), vi(-1), vi(-1), vi(0))), ErrCorrupt},
		{"negative length", rawBatch(None, 1, 0, append(vi(-5), okRecord(0)...)), ErrCorrupt},
		{"length varint overflow", rawBatch(None, 1, 0, bytes.Repeat([]byte{0xff}, 11)), ErrCorrupt},
		{"length covers trailing byte", rawBatch(None, 1, 0, recordBytes(-1, attr, vi(0), vi(0), vi(-1), vi(-1), vi(0), []byte{9})), ErrCorrupt},
		{"length too short for fields", rawBatch(None, 1, 0, recordBytes(3, attr, vi(0), vi(0), vi(-1), vi(-1), vi(0))), ErrCorrupt},
		{"key length -2", rawBatch(None, 1, 0, recordBytes(-1, attr, vi(0), vi(0), vi(-2), vi(-1), vi(0))), ErrCorrupt},
		{"key past record", rawBatch(None, 1, 0, recordBytes(-1, attr, vi(0), vi(0), vi(50), vi(-1), vi(0))), ErrCorrupt},
		{"offset delta beyond int32", rawBatch(None, 1, 0, recordBytes(-1, attr, vi(0), vi(1<<32), vi(-1), vi(-1), vi(0))), ErrCorrupt},
		{"negative header count", rawBatch(None, 1, 0, recordBytes(-1, attr, vi(0), vi(0), vi(-1), vi(-1), vi(-1))), ErrCorrupt},
		{"huge header count", rawBatch(None, 1, 0, recordBytes(-1, attr, vi(0), vi(0), vi(-1), vi(-1), vi(1<<30))), ErrCorrupt},
		{"null header key", rawBatch(None, 1, 0, recordBytes(-1, attr, vi(0), vi(0), vi(-1), vi(-1), vi(1), vi(-1), vi(-1))), ErrCorrupt},
		{"valid header", rawBatch(None, 1, 0, recordBytes(-1, attr, vi(0), vi(0), vi(-1), vi(-1), vi(1), vi(1), []byte("h"), vi(-1))), nil},
		{"gzip garbage", rawBatch(Gzip, 2, 1, []byte("not gzip at all")), ErrCorrupt},
		{"lz4 garbage", rawBatch(LZ4, 2, 1, []byte("not lz4 at all")), ErrCorrupt},
		{"zstd garbage", rawBatch(Zstd, 2, 1, []byte("not zstd at all")), ErrCorrupt},
		{"snappy garbage", rawBatch(Snappy, 2, 1, []byte{0x05, 0xff, 0xff}), ErrCorrupt},
		{"xerial header only", rawBatch(Snappy, 0, 0, xerialMagic), ErrCorrupt},
		{"xerial block past end", rawBatch(Snappy, 2, 1, append(xerialSnappy(two, 64), 0, 0, 1, 0)), ErrCorrupt},
		{"xerial stray bytes", rawBatch(Snappy, 2, 1, append(xerialSnappy(two, 64), 0, 0)), ErrCorrupt},
		{"gzip truncated", rawBatch(Gzip, 2, 1, refCompress(t, Gzip, two)[:20]), ErrCorrupt},
		{"gzip valid", rawBatch(Gzip, 2, 1, refCompress(t, Gzip, two)), nil},
		{"gzip payload with wrong count", rawBatch(Gzip, 3, 1, refCompress(t, Gzip, two)), ErrInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Validate(tc.batch); err != nil {
				// Every case has a valid CRC; only the cases about the header
				// fields themselves may fail here.
				if !errors.Is(err, ErrInvalidRecord) || tc.wantErr == nil {
					t.Fatalf("Validate: %v", err)
				}
			}
			err := ValidateRecords(tc.batch)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("ValidateRecords err = %v, want %v", err, tc.wantErr)
			}
			recs, rerr := Records(tc.batch)
			if !errors.Is(rerr, tc.wantErr) || (tc.wantErr == nil && rerr != nil) {
				t.Fatalf("Records err = %v, want %v", rerr, tc.wantErr)
			}
			if rerr != nil && recs != nil {
				t.Fatalf("Records returned %d records with an error", len(recs))
			}
		})
	}
}

func TestRecordsAlias(t *testing.T) {
	recs := []Record{{Key: []byte("ab"), Value: []byte("cd"), Headers: []RecordHeader{{Key: "h", Value: []byte("ef")}}}, {OffsetDelta: 1, Value: []byte("gh")}}
	b, err := Build(BatchSpec{}, recs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Records(b)
	if err != nil {
		t.Fatal(err)
	}
	// Uncompressed records alias the batch, clipped so an append copies.
	if &got[0].Key[0] != &b[bytes.Index(b, []byte("ab"))] {
		t.Fatal("uncompressed key does not alias the batch")
	}
	_ = append(got[0].Key, 'X', 'Y', 'Z')
	_ = append(got[0].Headers[0].Value, 'X', 'Y', 'Z')
	if _, err := Validate(b); err != nil {
		t.Fatalf("append to a decoded key changed the batch: %v", err)
	}
}

// TestValidateRecordsAllocs checks that ValidateRecords allocates nothing per
// record: none at all uncompressed, and a number independent of the record count
// when decompressing into pooled buffers. The bound is loose because the race
// detector makes sync.Pool drop items at random.
func TestValidateRecordsAllocs(t *testing.T) {
	const n = 2000
	for _, c := range allCodecs {
		b, err := Build(BatchSpec{Compression: c}, sampleRecords(n))
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateRecords(b); err != nil { // warm the pools
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if err := ValidateRecords(b); err != nil {
				t.Fatal(err)
			}
		})
		limit := float64(n / 20)
		if c == None {
			limit = 0
		}
		if allocs > limit {
			t.Errorf("%v: %.1f allocations per ValidateRecords of %d records, want <= %.0f", c, allocs, n, limit)
		}
		t.Logf("%v: %.1f allocations per ValidateRecords of %d records", c, allocs, n)
	}
}
