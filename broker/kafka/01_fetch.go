package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/replication"
)

// fetchTarget is one requested partition, resolved once per fetch.
type fetchTarget struct {
	p   *replication.Partition // nil when err is set
	err error                  // a resolution error answered for this partition
	req *kmsg.FetchRequestTopicPartition
	// replica is the fetching follower's broker id, or -1 for a consumer
	// (replica_fetch.go).
	replica int32
}

// handleFetch answers a fetch: for each requested partition, in request order,
// whole batches from the fetch offset up to the high watermark, bounded by the
// partition's and the request's MaxBytes (KIP-74: the first batch of the first
// non-empty partition is returned even when larger). It long-polls until MinBytes
// are available, MaxWaitMillis passes, a partition errors, or the server shuts
// down; appends to any watched partition wake it through one Waiter.
//
// Fetch sessions (KIP-227) are not kept: every answer has SessionID 0, which tells
// clients to send full fetches. read_uncommitted reads up to the high watermark;
// read_committed stops at the last stable offset (the first offset of the oldest
// open transaction) and lists the aborted transactions overlapping the returned
// batches, so the client drops their records.
//
// Record bytes are not copied here: the response keeps the log's file regions and
// the connection writer sends them with sendfile (fetch_sendfile.go).
func (s *Server) handleFetch(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.FetchRequest)
	if !ok {
		return nil, fmt.Errorf("%w: fetch handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if r.Version >= 7 {
		// We never hand out a session, so any non-zero id is unknown; epoch 0 asks
		// for a new session (we answer with none), -1 means no session at all.
		if req.SessionID != 0 {
			resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
			return resp, nil
		}
		if req.SessionEpoch != 0 && req.SessionEpoch != -1 {
			resp.ErrorCode = kerr.InvalidFetchSessionEpoch.Code
			return resp, nil
		}
	}

	targets := s.resolveFetch(r.Version, req)
	var w *replication.Waiter
	if req.MaxWaitMillis > 0 && req.MinBytes > 0 {
		// Watch before the first read, so an append between the read and the wait
		// still wakes us.
		w = replication.NewWaiter()
		for i := range targets {
			for j := range targets[i] {
				if p := targets[i][j].p; p != nil {
					p.Watch(w)
					defer p.Unwatch(w)
				}
			}
		}
	}

	var timer *time.Timer
	expired := w == nil
	for {
		reply, total, anyErr := s.readFetch(r.Key, req, targets)
		if expired || anyErr || total >= int64(req.MinBytes) || s.closed() {
			if timer != nil {
				timer.Stop()
			}
			s.metrics.countFetched(targets, reply)
			return reply, nil
		}
		reply.release()
		if timer == nil {
			timer = time.NewTimer(time.Duration(req.MaxWaitMillis) * time.Millisecond)
			// Waiting from here on: the fetch is in purgatory until it returns.
			s.metrics.m.FetchPurgatory.Inc()
			defer s.metrics.m.FetchPurgatory.Dec()
		}
		select {
		case <-w.C():
		case <-timer.C:
			expired = true
		case <-s.closing:
		}
	}
}

// closed reports whether Shutdown has begun.
func (s *Server) closed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// resolveFetch maps the requested topics and partitions to local replicas, in
// request order. v13+ names topics by id.
func (s *Server) resolveFetch(version int16, req *kmsg.FetchRequest) [][]fetchTarget {
	var snap *cluster.Snapshot
	if version >= 13 {
		snap = s.meta.Snapshot()
	}
	replica := replicaIDOf(version, req)
	out := make([][]fetchTarget, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		name, topicErr := rt.Topic, error(nil)
		if version >= 13 {
			name, topicErr = topicNameByID(snap, rt.TopicID)
		}
		out[i] = make([]fetchTarget, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			t := &out[i][j]
			t.req = rp
			t.replica = replica
			if topicErr != nil {
				t.err = topicErr
				continue
			}
			t.p, t.err = s.parts.Partition(name, rp.Partition)
			if t.err == nil {
				t.err = s.checkLeader(t.p, rp.CurrentLeaderEpoch)
			}
			if t.err != nil {
				t.p = nil
			}
		}
	}
	return out
}

// checkLeader fails unless this node leads p at the client's epoch (KIP-320; -1
// skips the epoch check).
func (s *Server) checkLeader(p *replication.Partition, clientEpoch int32) error {
	if leader := p.Leader(); leader != s.cfg.NodeID {
		return fmt.Errorf("partition %s is led by node %d: %w", p.TopicPartition(), leader, kerr.NotLeaderForPartition)
	}
	if clientEpoch < 0 {
		return nil
	}
	switch epoch := p.LeaderEpoch(); {
	case clientEpoch < epoch:
		return fmt.Errorf("leader epoch %d < %d: %w", clientEpoch, epoch, kerr.FencedLeaderEpoch)
	case clientEpoch > epoch:
		return fmt.Errorf("leader epoch %d > %d: %w", clientEpoch, epoch, kerr.UnknownLeaderEpoch)
	}
	return nil
}

// readFetch reads every target once and builds the reply. total is the record
// bytes read; anyErr reports a partition error (answered at once, as Kafka does).
func (s *Server) readFetch(key int16, req *kmsg.FetchRequest, targets [][]fetchTarget) (reply *fetchReply, total int64, anyErr bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	reply = &fetchReply{FetchResponse: resp, reads: make([][]log.ReadResult, len(targets))}
	remaining := int64(req.MaxBytes)
	minOne := true
	resp.Topics = make([]kmsg.FetchResponseTopic, len(targets))
	for i := range targets {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		st.Default()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		st.Partitions = make([]kmsg.FetchResponseTopicPartition, len(targets[i]))
		reply.reads[i] = make([]log.ReadResult, len(targets[i]))
		for j := range targets[i] {
			t := &targets[i][j]
			sp := &st.Partitions[j]
			sp.Default()
			sp.Partition = t.req.Partition
			sp.RecordBatches = []byte{}
			if req.IsolationLevel == 1 {
				sp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			}
			err := t.err
			if err == nil {
				var rr log.ReadResult
				rr, err = s.readPartition(t, req.IsolationLevel, remaining, minOne, sp)
				if err == nil && rr.Size > 0 {
					reply.reads[i][j] = rr
					total += rr.Size
					remaining -= rr.Size
					minOne = false
				}
			}
			if err != nil {
				anyErr = true
				sp.ErrorCode = errorCode(err)
				s.metrics.countError(key, sp.ErrorCode)
				sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
				if !errors.Is(err, log.ErrOffsetOutOfRange) {
					s.logger.Debug("fetch partition failed", "topic", rt.Topic, "partition", t.req.Partition, "err", err)
				}
			}
		}
	}
	return reply, total, anyErr
}

// readPartition reads one partition and fills its offsets (and, for
// read_committed, the aborted transactions of the batches read). The result must
// be released by the caller (through the reply).
func (s *Server) readPartition(t *fetchTarget, isolation int8, remaining int64, minOne bool, sp *kmsg.FetchResponseTopicPartition) (log.ReadResult, error) {
	p := t.p
	if t.replica >= 0 {
		return s.readReplica(t, remaining, sp)
	}
	// Offsets first, and the read bounded by them, so no record above the
	// reported high watermark (or last stable offset) is ever sent.
	sp.HighWatermark = p.HighWatermark()
	sp.LastStableOffset = min(p.LastStableOffset(), sp.HighWatermark)
	sp.LogStartOffset = p.StartOffset()
	upTo := sp.HighWatermark
	if isolation == 1 {
		upTo = sp.LastStableOffset
	}
	maxBytes := max(min(int64(t.req.PartitionMaxBytes), remaining), 0)
	rr, err := p.Read(t.req.FetchOffset, maxBytes, upTo, minOne)
	if err != nil {
		return log.ReadResult{}, err
	}
	if isolation == 1 && rr.Size > 0 {
		if aborted := abortedOf(p, t.req.FetchOffset, rr.NextOffset); len(aborted) > 0 {
			sp.AbortedTransactions = aborted
		}
	}
	return rr, nil
}
