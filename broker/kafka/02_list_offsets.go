package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Special ListOffsets timestamps.
const (
	listLatest        = -1 // the high watermark (or last stable offset for read_committed)
	listEarliest      = -2 // the log start offset
	listMaxTimestamp  = -3 // the batch holding the largest timestamp (KIP-734)
	listEarliestLocal = -4 // the local log start offset (KIP-405); no tiers here, so the log start
	listLatestTiered  = -5 // the last offset in remote storage (KIP-1005); none here, so -1
)

// handleListOffsets answers offsets by time: earliest, latest, max timestamp, the
// local and tiered variants, and the first batch at or after a timestamp (offset
// and timestamp -1 when there is none).
func (s *Server) handleListOffsets(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.ListOffsetsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: list offsets handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	resp.Topics = make([]kmsg.ListOffsetsResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		st.Default()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ListOffsetsResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := &st.Partitions[j]
			sp.Default()
			sp.Partition = rp.Partition
			if err := s.listOffset(rt.Topic, rp, req.IsolationLevel, sp); err != nil {
				sp.ErrorCode = errorCode(err)
				sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, -1
			}
		}
	}
	return resp, nil
}

// listOffset fills sp for one partition.
func (s *Server) listOffset(topic string, rp *kmsg.ListOffsetsRequestTopicPartition, isolation int8, sp *kmsg.ListOffsetsResponseTopicPartition) error {
	p, err := s.parts.Partition(topic, rp.Partition)
	if err != nil {
		return err
	}
	if err := s.checkLeader(p, rp.CurrentLeaderEpoch); err != nil {
		return err
	}
	sp.LeaderEpoch = p.LeaderEpoch()
	sp.Timestamp = -1
	visible := p.HighWatermark()
	if isolation == 1 {
		visible = min(visible, p.LastStableOffset())
	}
	switch ts := rp.Timestamp; {
	case ts == listLatest:
		sp.Offset = visible
	case ts == listEarliest, ts == listEarliestLocal:
		sp.Offset = p.StartOffset()
	case ts == listLatestTiered:
		sp.Offset = -1
	case ts == listMaxTimestamp:
		sp.Offset = -1
		if maxTS, off, ok := p.Log().MaxTimestamp(); ok && off < visible {
			sp.Timestamp, sp.Offset = maxTS, off
		}
	case ts >= 0:
		sp.Offset = -1
		off, foundTS, ok, err := p.Log().OffsetForTimestamp(ts)
		if err != nil {
			return fmt.Errorf("offset for timestamp %d in %s/%d: %w", ts, topic, rp.Partition, err)
		}
		if ok && off < visible {
			sp.Timestamp, sp.Offset = foundTS, off
		}
	default:
		return fmt.Errorf("timestamp %d: %w", ts, kerr.InvalidRequest)
	}
	return nil
}
