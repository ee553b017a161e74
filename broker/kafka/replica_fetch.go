package kafka

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/log"
)

// replicaIDOf is the fetching broker's id (a follower), or -1 for a consumer:
// ReplicaID before v15, ReplicaState (KIP-903) from v15.
func replicaIDOf(version int16, req *kmsg.FetchRequest) int32 {
	if version >= 15 {
		return req.ReplicaState.ID
	}
	return req.ReplicaID
}

// readReplica serves a follower: the fetch offset is the follower's log end,
// which the leader records (raising the high watermark, maybe asking the
// controller to add the follower to the ISR); records are read up to the log
// end, not the high watermark, and the high watermark tells the follower what
// is committed.
func (s *Server) readReplica(t *fetchTarget, remaining int64, sp *kmsg.FetchResponseTopicPartition) (log.ReadResult, error) {
	p := t.p
	expand, err := p.ReplicaFetched(t.replica, t.req.FetchOffset, s.cfg.Now())
	if err != nil {
		return log.ReadResult{}, err
	}
	if expand {
		s.parts.KickISR()
	}
	sp.HighWatermark = p.HighWatermark()
	sp.LastStableOffset = min(p.LastStableOffset(), sp.HighWatermark)
	sp.LogStartOffset = p.StartOffset()
	if t.req.FetchOffset == p.LogEndOffset() {
		return log.ReadResult{}, nil
	}
	maxBytes := max(min(int64(t.req.PartitionMaxBytes), remaining), 0)
	return p.ReadReplica(t.req.FetchOffset, maxBytes)
}
