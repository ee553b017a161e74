package kafka

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// errNoRecords: a produce partition with null or empty records (INVALID_RECORD, as
// Kafka answers "produce request has no record batches").
var errNoRecords = fmt.Errorf("produce request has no record batches: %w", kerr.InvalidRecord)

// errAcksZeroFailed closes an acks=0 connection after a failed write: the client
// gets no answer, and the closed connection makes it refresh its metadata, as Kafka does.
var errAcksZeroFailed = errors.New("kafka: produce with acks=0 failed; closing so the client refreshes metadata")

// handleProduce appends each partition's batches to its local replica. The batches
// are appended straight from the request buffer (patched in place), never copied
// or decoded record by record. acks=0 gets no response; acks=1 and acks=-1 are
// answered once the batches are in the leader's log, which on a single node is
// also every in-sync replica.
func (s *Server) handleProduce(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.ProduceRequest)
	if !ok {
		return nil, fmt.Errorf("%w: produce handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	validAcks := req.Acks == -1 || req.Acks == 0 || req.Acks == 1
	var snap *cluster.Snapshot
	if r.Version >= 13 {
		snap = s.meta.Snapshot()
	}
	failed := false
	var waits []replicaWait
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		st.Default()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		name, topicErr := rt.Topic, error(nil)
		if r.Version >= 13 {
			name, topicErr = topicNameByID(snap, rt.TopicID)
		}
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := &st.Partitions[j]
			sp.Default()
			sp.Partition = rp.Partition
			var err error
			switch {
			case topicErr != nil:
				err = topicErr
			case !validAcks:
				err = fmt.Errorf("acks=%d: %w", req.Acks, kerr.InvalidRequiredAcks)
			default:
				var w replicaWait
				w, err = s.producePartition(name, rp.Partition, rp.Records, sp, req.Acks)
				if err == nil && req.Acks == -1 && w.p != nil {
					w.sp = sp
					waits = append(waits, w)
				}
			}
			if err != nil {
				failed = true
				sp.BaseOffset = -1
				sp.ErrorCode = errorCode(err)
				s.metrics.countError(r.Key, sp.ErrorCode)
				if r.Version >= 8 {
					sp.ErrorMessage = errorMessage(err)
				}
			}
		}
	}
	// acks=all: answer once the in-sync replicas have every written batch.
	if s.waitReplicated(waits, req.TimeoutMillis, r.Version) {
		failed = true
	}
	if req.Acks == 0 {
		if failed {
			return nil, errAcksZeroFailed
		}
		return nil, nil
	}
	return resp, nil
}

// producePartition appends records to one partition and fills the success fields
// of sp. With acks=all it first checks min.insync.replicas, and returns what to
// wait for.
func (s *Server) producePartition(topic string, partition int32, records []byte, sp *kmsg.ProduceResponseTopicPartition, acks int16) (replicaWait, error) {
	if len(records) == 0 {
		return replicaWait{}, errNoRecords
	}
	p, err := s.parts.Partition(topic, partition)
	if err != nil {
		return replicaWait{}, err
	}
	if leader := p.Leader(); leader != s.cfg.NodeID {
		return replicaWait{}, fmt.Errorf("partition %s/%d is led by node %d: %w", topic, partition, leader, kerr.NotLeaderForPartition)
	}
	if acks == -1 {
		if err := p.CheckEnoughReplicas(); err != nil {
			return replicaWait{}, err
		}
	}
	info, err := p.Append(records)
	if err != nil {
		return replicaWait{}, err
	}
	tm := s.metrics.m.Topic(topic)
	tm.BytesIn.Add(float64(info.Bytes))
	tm.RecordsIn.Add(float64(info.NumRecords))
	sp.BaseOffset = info.BaseOffset
	sp.LogAppendTime = info.LogAppendTime
	sp.LogStartOffset = p.StartOffset()
	return replicaWait{p: p, last: info.LastOffset}, nil
}

// topicNameByID resolves a request's topic id (v13+ produce and fetch).
func topicNameByID(snap *cluster.Snapshot, id [16]byte) (string, error) {
	if t, ok := snap.TopicsByID[cluster.UUID(id)]; ok {
		return t.Name, nil
	}
	return "", fmt.Errorf("topic id %x: %w", id, kerr.UnknownTopicID)
}
