package kafka

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/log"
)

// regionFile hands out regions of one temp file holding known bytes.
type regionFile struct {
	f   *os.File
	pos int64
}

func newRegionFile(t *testing.T) *regionFile {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "segment.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &regionFile{f: f}
}

// read writes data into the file (after some padding, so positions are not 0)
// and returns a ReadResult over it split into parts regions.
func (rf *regionFile) read(t *testing.T, data []byte, parts int) log.ReadResult {
	t.Helper()
	pad := []byte("padding-")
	if _, err := rf.f.WriteAt(pad, rf.pos); err != nil {
		t.Fatal(err)
	}
	rf.pos += int64(len(pad))
	if _, err := rf.f.WriteAt(data, rf.pos); err != nil {
		t.Fatal(err)
	}
	var rr log.ReadResult
	chunk := (len(data) + parts - 1) / parts
	for off := 0; off < len(data); off += chunk {
		n := min(chunk, len(data)-off)
		rr.Regions = append(rr.Regions, log.Region{File: rf.f, Pos: rf.pos + int64(off), Len: int64(n)})
		rr.Size += int64(n)
	}
	rf.pos += int64(len(data))
	return rr
}

// fetchShape builds a response for a version, with the records both as regions
// (for the framer) and inline (for kmsg).
type fetchShape struct {
	name  string
	build func(t *testing.T, rf *regionFile, v int16, rng *rand.Rand) (spliced, inline *kmsg.FetchResponse, reads [][]log.ReadResult)
}

func partition(id int32, hw int64) kmsg.FetchResponseTopicPartition {
	p := kmsg.NewFetchResponseTopicPartition()
	p.Partition = id
	p.HighWatermark, p.LastStableOffset, p.LogStartOffset = hw, hw, 0
	p.RecordBatches = []byte{}
	return p
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n]
}

// withData adds a topic whose partitions are built by mk; mk returns the record
// bytes for partition j (nil: none) and how many regions to split them into.
func withData(t *testing.T, rf *regionFile, rng *rand.Rand, spliced, inline *kmsg.FetchResponse, reads *[][]log.ReadResult,
	name string, parts []kmsg.FetchResponseTopicPartition, data [][]byte, regions []int) {
	t.Helper()
	st := kmsg.NewFetchResponseTopic()
	st.Topic = name
	copy(st.TopicID[:], randomBytes(rng, 16))
	it := st
	st.Partitions = parts
	it.Partitions = make([]kmsg.FetchResponseTopicPartition, len(parts))
	copy(it.Partitions, parts)
	rs := make([]log.ReadResult, len(parts))
	for j := range parts {
		if len(data[j]) > 0 {
			rs[j] = rf.read(t, data[j], regions[j])
			it.Partitions[j].RecordBatches = data[j]
		}
	}
	spliced.Topics = append(spliced.Topics, st)
	inline.Topics = append(inline.Topics, it)
	*reads = append(*reads, rs)
}

var fetchShapes = []fetchShape{
	{"no topics", func(t *testing.T, rf *regionFile, v int16, rng *rand.Rand) (*kmsg.FetchResponse, *kmsg.FetchResponse, [][]log.ReadResult) {
		r := &kmsg.FetchResponse{Version: v}
		return r, &kmsg.FetchResponse{Version: v}, nil
	}},
	{"one partition with data", func(t *testing.T, rf *regionFile, v int16, rng *rand.Rand) (*kmsg.FetchResponse, *kmsg.FetchResponse, [][]log.ReadResult) {
		s, in := &kmsg.FetchResponse{Version: v}, &kmsg.FetchResponse{Version: v}
		var reads [][]log.ReadResult
		withData(t, rf, rng, s, in, &reads, "orders", []kmsg.FetchResponseTopicPartition{partition(0, 42)}, [][]byte{randomBytes(rng, 300)}, []int{1})
		return s, in, reads
	}},
	{"one partition empty", func(t *testing.T, rf *regionFile, v int16, rng *rand.Rand) (*kmsg.FetchResponse, *kmsg.FetchResponse, [][]log.ReadResult) {
		s, in := &kmsg.FetchResponse{Version: v}, &kmsg.FetchResponse{Version: v}
		var reads [][]log.ReadResult
		withData(t, rf, rng, s, in, &reads, "t", []kmsg.FetchResponseTopicPartition{partition(3, 0)}, [][]byte{nil}, []int{0})
		return s, in, reads
	}},
	{"null records and error", func(t *testing.T, rf *regionFile, v int16, rng *rand.Rand) (*kmsg.FetchResponse, *kmsg.FetchResponse, [][]log.ReadResult) {
		s, in := &kmsg.FetchResponse{Version: v}, &kmsg.FetchResponse{Version: v}
		p := partition(1, -1)
		p.RecordBatches = nil
		p.ErrorCode = 1 // OFFSET_OUT_OF_RANGE
		p.LastStableOffset, p.LogStartOffset = -1, -1
		var reads [][]log.ReadResult
		withData(t, rf, rng, s, in, &reads, "t", []kmsg.FetchResponseTopicPartition{p}, [][]byte{nil}, []int{0})
		return s, in, reads
	}},
	{"many topics and partitions", func(t *testing.T, rf *regionFile, v int16, rng *rand.Rand) (*kmsg.FetchResponse, *kmsg.FetchResponse, [][]log.ReadResult) {
		s, in := &kmsg.FetchResponse{Version: v}, &kmsg.FetchResponse{Version: v}
		for _, r := range []*kmsg.FetchResponse{s, in} {
			r.ThrottleMillis, r.ErrorCode, r.SessionID = 7, 0, 0
		}
		var reads [][]log.ReadResult
		for ti := range 4 {
			n := 1 + rng.IntN(5)
			parts := make([]kmsg.FetchResponseTopicPartition, n)
			data := make([][]byte, n)
			regions := make([]int, n)
			for j := range parts {
				parts[j] = partition(int32(j), int64(rng.IntN(1<<20)))
				switch rng.IntN(5) {
				case 0: // error
					parts[j].ErrorCode = 3
					parts[j].HighWatermark, parts[j].LastStableOffset, parts[j].LogStartOffset = -1, -1, -1
				case 1: // read_committed, no aborted transactions
					parts[j].AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
				case 2: // aborted transactions listed
					parts[j].AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{
						{ProducerID: 9, FirstOffset: 100}, {ProducerID: 10, FirstOffset: 200},
					}
					data[j] = randomBytes(rng, 1+rng.IntN(2000))
					regions[j] = 1 + rng.IntN(3)
				default:
					parts[j].PreferredReadReplica = int32(rng.IntN(3) - 1)
					data[j] = randomBytes(rng, 1+rng.IntN(200_000))
					regions[j] = 1 + rng.IntN(3)
				}
			}
			withData(t, rf, rng, s, in, &reads, fmt.Sprintf("topic-%d-%s", ti, "abcdefghijklmnopqrstuvwxyz"[:rng.IntN(26)]), parts, data, regions)
		}
		return s, in, reads
	}},
}

// TestFetchFrameMatchesKmsg checks the sendfile framer byte for byte against
// kmsg's encoding of the same response with the records in memory, for every
// served Fetch version and several shapes.
func TestFetchFrameMatchesKmsg(t *testing.T) {
	var fetchAPI api
	for _, a := range apis() {
		if a.Key == 1 {
			fetchAPI = a
		}
	}
	rf := newRegionFile(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for v := fetchAPI.MinVersion; v <= fetchAPI.MaxVersion; v++ {
		for _, sh := range fetchShapes {
			t.Run(fmt.Sprintf("v%d/%s", v, sh.name), func(t *testing.T) {
				spliced, inline, reads := sh.build(t, rf, v, rng)
				r := &Request{Key: 1, Version: v, CorrelationID: 0x1234567}
				if !framable(spliced) {
					t.Fatal("shape should be framable")
				}
				f := appendFetchFrame(nil, r, spliced, reads)
				got, err := f.appendBytes(nil)
				if err != nil {
					t.Fatal(err)
				}
				want := appendResponseFrame(nil, r, inline)
				if !bytes.Equal(got, want) {
					t.Fatalf("framer output differs from kmsg: got %d bytes, want %d; first difference at %d",
						len(got), len(want), firstDiff(got, want))
				}
				// The size prefix counts the region bytes that are not in buf.
				if n := binary.BigEndian.Uint32(got); int(n) != len(got)-4 {
					t.Fatalf("size prefix %d for a %d-byte frame", n, len(got))
				}
				// And the reply type's in-memory encoding agrees too.
				reply := &fetchReply{FetchResponse: spliced, reads: reads}
				if body := reply.AppendTo(nil); !bytes.Equal(body, inline.AppendTo(nil)) {
					t.Fatal("fetchReply.AppendTo differs from kmsg")
				}
			})
		}
	}
}

// TestFetchFrameFallsBackForTaggedFields checks that a response with a tagged
// field the framer does not lay out is still encoded exactly as kmsg does.
func TestFetchFrameFallsBackForTaggedFields(t *testing.T) {
	rf := newRegionFile(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, v := range []int16{12, 13, 17} {
		s, in := &kmsg.FetchResponse{Version: v}, &kmsg.FetchResponse{Version: v}
		var reads [][]log.ReadResult
		p := partition(0, 10)
		p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch = 2, 5
		withData(t, rf, rng, s, in, &reads, "t", []kmsg.FetchResponseTopicPartition{p}, [][]byte{randomBytes(rng, 500)}, []int{2})
		if framable(s) {
			t.Fatalf("v%d: a CurrentLeader tag must not be framable", v)
		}
		r := &Request{Key: 1, Version: v, CorrelationID: 5}
		f := (&fetchReply{FetchResponse: s, reads: reads}).frame(nil, r)
		got, err := f.appendBytes(nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := appendResponseFrame(nil, r, in); !bytes.Equal(got, want) {
			t.Fatalf("v%d: fallback differs from kmsg at byte %d", v, firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
