package record

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// seedBatches returns valid batches of every codec plus a few damaged ones, the
// fuzz targets' seed corpus.
func seedBatches(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, c := range allCodecs {
		for _, n := range []int{1, 7} {
			b, err := Build(BatchSpec{BaseOffset: int64(n), Compression: c, BaseTimestamp: 10, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, sampleRecords(n))
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	empty, err := Build(BatchSpec{}, nil)
	if err != nil {
		f.Fatal(err)
	}
	raw := kafkaRecords(f, toKafka(sampleRecords(3)))
	seeds = append(seeds, empty,
		rawBatch(Snappy, 3, 3, xerialSnappy(raw, 16)),
		rawBatch(Gzip, 3, 3, refCompress(f, Gzip, raw)),
		seeds[0][:HeaderSize+2],
		patched(seeds[1], false, func(b []byte) { b[len(b)-1]++ }))
	return seeds
}

// FuzzNext splits arbitrary bytes into batches. It must never panic, every batch
// it returns must parse to the same header and either validate or fail only on
// the checks Next does not make (CRC, counts), and a valid batch must stay valid
// after the broker's in-place patches.
func FuzzNext(f *testing.F) {
	seeds := seedBatches(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add(bytes.Join(seeds, nil))
	f.Fuzz(func(t *testing.T, buf []byte) {
		rest := buf
		for range len(buf)/HeaderSize + 1 { // each batch consumes at least a header
			batch, r, h, err := Next(rest)
			if err != nil {
				if !errors.Is(err, ErrTooShort) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedMagic) {
					t.Fatalf("Next: unexpected error class: %v", err)
				}
				if batch != nil || len(r) != len(rest) {
					t.Fatalf("Next failed but returned a batch or consumed input")
				}
				return
			}
			if len(batch)+len(r) != len(rest) || len(batch) != h.Size() || len(batch) < HeaderSize {
				t.Fatalf("Next: batch %d + rest %d != %d (size %d)", len(batch), len(r), len(rest), h.Size())
			}
			if ph, err := ParseHeader(batch); err != nil || ph != h {
				t.Fatalf("ParseHeader of a split batch = %+v, %v; Next said %+v", ph, err, h)
			}
			vh, err := Validate(batch)
			switch {
			case err == nil:
				if vh != h {
					t.Fatalf("Validate header %+v, Next header %+v", vh, h)
				}
				checkPatches(t, batch, h)
			case !errors.Is(err, ErrCRC) && !errors.Is(err, ErrInvalidRecord):
				t.Fatalf("Validate of a batch Next accepted: %v", err)
			}
			rest = r
			if len(rest) == 0 {
				return
			}
		}
		t.Fatalf("Next made no progress")
	})
}

// checkPatches applies the broker's in-place patches to a copy of a valid batch
// and checks it stays valid with exactly the patched fields changed.
func checkPatches(t *testing.T, batch []byte, h Header) {
	c := bytes.Clone(batch)
	SetBaseOffset(c, h.BaseOffset+1000)
	SetPartitionLeaderEpoch(c, h.PartitionLeaderEpoch^1)
	SetLogAppendTime(c, 12345)
	got, err := Validate(c)
	if err != nil {
		t.Fatalf("Validate after patches: %v", err)
	}
	want := h
	want.BaseOffset += 1000
	want.PartitionLeaderEpoch ^= 1
	want.Attributes |= AttrLogAppendTime
	want.MaxTimestamp = 12345
	want.CRC = got.CRC
	if got != want {
		t.Fatalf("after patches header %+v\nwant                %+v", got, want)
	}
}

// FuzzRecords decodes arbitrary bytes as one batch. Records and ValidateRecords
// must never panic and must agree; whatever decodes must have the declared count
// and must survive a Build round trip unchanged.
func FuzzRecords(f *testing.F) {
	for _, s := range seedBatches(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		verr := ValidateRecords(b)
		recs, rerr := Records(b)
		if (verr == nil) != (rerr == nil) {
			t.Fatalf("ValidateRecords: %v, Records: %v", verr, rerr)
		}
		for _, sentinel := range []error{ErrTooShort, ErrCorrupt, ErrUnsupportedMagic, ErrInvalidRecord, ErrCRC} {
			if errors.Is(verr, sentinel) != errors.Is(rerr, sentinel) {
				t.Fatalf("error classes differ: ValidateRecords: %v, Records: %v", verr, rerr)
			}
		}
		if rerr != nil {
			if recs != nil {
				t.Fatalf("Records returned records with error %v", rerr)
			}
			return
		}
		h, err := ParseHeader(b)
		if err != nil {
			t.Fatalf("records decoded but header does not parse: %v", err)
		}
		if len(recs) != int(h.NumRecords) {
			t.Fatalf("%d records, header says %d", len(recs), h.NumRecords)
		}
		rebuilt, err := Build(BatchSpec{
			BaseOffset: h.BaseOffset, Compression: h.Compression(), Attributes: h.Attributes,
			BaseTimestamp: h.BaseTimestamp, MaxTimestamp: h.MaxTimestamp,
			ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, BaseSequence: h.BaseSequence,
		}, recs)
		if err != nil {
			t.Fatalf("Build of decoded records: %v", err)
		}
		if _, err := Validate(rebuilt); err != nil {
			t.Fatalf("Validate of rebuilt batch: %v", err)
		}
		again, err := Records(rebuilt)
		if err != nil {
			t.Fatalf("Records of rebuilt batch: %v", err)
		}
		if len(recs) == 0 {
			recs = nil
		}
		if len(again) == 0 {
			again = nil
		}
		if !reflect.DeepEqual(again, recs) {
			t.Fatalf("round trip changed records")
		}
	})
}
