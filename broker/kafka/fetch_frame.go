package kafka

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/log"
)

// splicedResponse is a response whose frame refers to file regions instead of
// holding all its bytes (fetch). The connection asks it for the frame.
type splicedResponse interface {
	kmsg.Response
	// frame encodes the response for r into dst (empty, reused) and returns the
	// frame to write; the frame's release frees the regions after writing.
	frame(dst []byte, r *Request) *outFrame
}

// fetchReply is a FetchResponse whose record bytes stay in the log: reads[i][j]
// holds the records of Topics[i].Partitions[j], whose RecordBatches is then empty.
type fetchReply struct {
	*kmsg.FetchResponse
	reads [][]log.ReadResult
}

// release frees every read result. Safe to call more than once.
func (f *fetchReply) release() {
	for i := range f.reads {
		for j := range f.reads[i] {
			f.reads[i][j].Release()
		}
	}
}

// frame implements splicedResponse.
func (f *fetchReply) frame(dst []byte, r *Request) *outFrame {
	if !framable(f.FetchResponse) {
		// Something the framer does not lay out (tagged fields): copy the records
		// into memory and let kmsg encode the whole response.
		resp := f.materialize()
		f.release()
		return &outFrame{buf: appendResponseFrame(dst, r, resp)}
	}
	out := appendFetchFrame(dst, r, f.FetchResponse, f.reads)
	out.release = f.release
	return out
}

// AppendTo encodes the response with the records read into memory; the
// connection uses frame instead, this serves kmsg.Response users such as tests.
func (f *fetchReply) AppendTo(dst []byte) []byte {
	return f.materialize().AppendTo(dst)
}

// materialize returns a copy of the response with every partition's records read
// into RecordBatches. A partition whose read fails gets KAFKA_STORAGE_ERROR.
func (f *fetchReply) materialize() *kmsg.FetchResponse {
	resp := *f.FetchResponse
	resp.Topics = make([]kmsg.FetchResponseTopic, len(f.Topics))
	for i := range f.Topics {
		resp.Topics[i] = f.Topics[i]
		resp.Topics[i].Partitions = append([]kmsg.FetchResponseTopicPartition(nil), f.Topics[i].Partitions...)
		for j := range resp.Topics[i].Partitions {
			rr := &f.reads[i][j]
			if rr.Size == 0 {
				continue
			}
			sp := &resp.Topics[i].Partitions[j]
			b, err := rr.AppendBytes(make([]byte, 0, rr.Size))
			if err != nil {
				sp.ErrorCode = kerr.KafkaStorageError.Code
				b = []byte{}
			}
			sp.RecordBatches = b
		}
	}
	return &resp
}

// framable reports whether appendFetchFrame lays out resp exactly as kmsg would:
// it writes no tagged fields, so every tagged field must hold its default.
func framable(resp *kmsg.FetchResponse) bool {
	if len(resp.Brokers) != 0 || resp.UnknownTags.Len() != 0 {
		return false
	}
	def := kmsg.NewFetchResponseTopicPartition()
	for i := range resp.Topics {
		t := &resp.Topics[i]
		if t.UnknownTags.Len() != 0 {
			return false
		}
		for j := range t.Partitions {
			p := &t.Partitions[j]
			de, cl, sn := &p.DivergingEpoch, &p.CurrentLeader, &p.SnapshotID
			if p.UnknownTags.Len() != 0 ||
				de.Epoch != def.DivergingEpoch.Epoch || de.EndOffset != def.DivergingEpoch.EndOffset || de.UnknownTags.Len() != 0 ||
				cl.LeaderID != def.CurrentLeader.LeaderID || cl.LeaderEpoch != def.CurrentLeader.LeaderEpoch || cl.UnknownTags.Len() != 0 ||
				sn.EndOffset != def.SnapshotID.EndOffset || sn.Epoch != def.SnapshotID.Epoch || sn.UnknownTags.Len() != 0 {
				return false
			}
			for k := range p.AbortedTransactions {
				if p.AbortedTransactions[k].UnknownTags.Len() != 0 {
					return false
				}
			}
		}
	}
	return true
}

// appendFetchFrame lays out a whole FetchResponse frame (size prefix, header,
// body) for the versions served (4+), exactly as appendResponseFrame would with
// kmsg, except that the record bytes of partition (i, j) are reads[i][j]'s file
// regions, recorded as segments rather than copied. Where reads[i][j] is empty,
// the partition's RecordBatches are encoded inline. dst must be empty. The caller
// must have checked framable; tests check byte equality with kmsg.
func appendFetchFrame(dst []byte, r *Request, resp *kmsg.FetchResponse, reads [][]log.ReadResult) *outFrame {
	if len(dst) != 0 {
		panic(fmt.Sprintf("appendFetchFrame: dst holds %d bytes", len(dst)))
	}
	v := resp.Version
	flex := resp.IsFlexible()
	arrayLen := func(dst []byte, n int) []byte {
		if flex {
			return kbin.AppendCompactArrayLen(dst, n)
		}
		return kbin.AppendArrayLen(dst, n)
	}
	var segs []segment
	var regionBytes int64

	dst = appendResponseHeader(dst, r, resp)
	if v >= 1 {
		dst = kbin.AppendInt32(dst, resp.ThrottleMillis)
	}
	if v >= 7 {
		dst = kbin.AppendInt16(dst, resp.ErrorCode)
		dst = kbin.AppendInt32(dst, resp.SessionID)
	}
	dst = arrayLen(dst, len(resp.Topics))
	for i := range resp.Topics {
		t := &resp.Topics[i]
		switch {
		case v >= 13:
			dst = kbin.AppendUuid(dst, t.TopicID)
		case flex:
			dst = kbin.AppendCompactString(dst, t.Topic)
		default:
			dst = kbin.AppendString(dst, t.Topic)
		}
		dst = arrayLen(dst, len(t.Partitions))
		for j := range t.Partitions {
			p := &t.Partitions[j]
			dst = kbin.AppendInt32(dst, p.Partition)
			dst = kbin.AppendInt16(dst, p.ErrorCode)
			dst = kbin.AppendInt64(dst, p.HighWatermark)
			if v >= 4 {
				dst = kbin.AppendInt64(dst, p.LastStableOffset)
			}
			if v >= 5 {
				dst = kbin.AppendInt64(dst, p.LogStartOffset)
			}
			if v >= 4 {
				at := p.AbortedTransactions
				if flex {
					dst = kbin.AppendCompactNullableArrayLen(dst, len(at), at == nil)
				} else {
					dst = kbin.AppendNullableArrayLen(dst, len(at), at == nil)
				}
				for k := range at {
					dst = kbin.AppendInt64(dst, at[k].ProducerID)
					dst = kbin.AppendInt64(dst, at[k].FirstOffset)
					if flex {
						dst = kbin.AppendUvarint(dst, 0)
					}
				}
			}
			if v >= 11 {
				dst = kbin.AppendInt32(dst, p.PreferredReadReplica)
			}
			var rr *log.ReadResult
			if i < len(reads) && j < len(reads[i]) && reads[i][j].Size > 0 {
				rr = &reads[i][j]
			}
			switch {
			case rr == nil && flex:
				dst = kbin.AppendCompactNullableBytes(dst, p.RecordBatches)
			case rr == nil:
				dst = kbin.AppendNullableBytes(dst, p.RecordBatches)
			default:
				if flex {
					dst = kbin.AppendUvarint(dst, uint32(rr.Size)+1)
				} else {
					dst = kbin.AppendInt32(dst, int32(rr.Size))
				}
				for _, reg := range rr.Regions {
					if reg.Len > 0 {
						segs = append(segs, segment{at: len(dst), region: reg})
					}
				}
				regionBytes += rr.Size
			}
			if flex {
				dst = kbin.AppendUvarint(dst, 0) // partition tagged fields
			}
		}
		if flex {
			dst = kbin.AppendUvarint(dst, 0) // topic tagged fields
		}
	}
	if flex {
		dst = kbin.AppendUvarint(dst, 0) // response tagged fields
	}
	binary.BigEndian.PutUint32(dst, uint32(int64(len(dst))-4+regionBytes))
	return &outFrame{buf: dst, segs: segs}
}
