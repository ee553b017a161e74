package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/replication"
)

// replicaWait is one acks=all partition of a produce: its last written offset
// must reach the in-sync replicas before the answer.
type replicaWait struct {
	p    *replication.Partition
	last int64
	sp   *kmsg.ProduceResponseTopicPartition
}

// waitReplicated waits for every partition in turn under one deadline (the
// request's timeout) and turns a failure into that partition's error code. It
// reports whether any failed. The records stay written either way, as in Kafka:
// a retry of an idempotent producer is answered from the producer state.
func (s *Server) waitReplicated(waits []replicaWait, timeoutMs int32, version int16) bool {
	if len(waits) == 0 {
		return false
	}
	deadline := s.cfg.Now().Add(time.Duration(max(timeoutMs, 0)) * time.Millisecond)
	failed := false
	for _, w := range waits {
		err := w.p.WaitReplicated(w.last, max(deadline.Sub(s.cfg.Now()), time.Millisecond), s.closing)
		if err == nil {
			continue
		}
		failed = true
		w.sp.BaseOffset = -1
		w.sp.ErrorCode = errorCode(err)
		s.metrics.countError(0, w.sp.ErrorCode)
		if version >= 8 {
			w.sp.ErrorMessage = errorMessage(err)
		}
	}
	return failed
}
