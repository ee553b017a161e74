package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
)

// handleOffsetCommit stores a group's consumed offsets in __consumer_offsets.
// Partitions of unknown topics are refused one by one; the rest are written as one
// batch.
func (s *Server) handleOffsetCommit(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.OffsetCommitRequest)
	if !ok {
		return nil, fmt.Errorf("%w: offset commit handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	cr := group.CommitRequest{
		MemberID:   req.MemberID,
		InstanceID: deref(req.InstanceID),
		Generation: req.Generation,
	}
	if r.Version == 0 {
		cr.Generation = -1
	}
	if r.Version >= 2 && r.Version <= 4 && req.RetentionTimeMillis > 0 {
		cr.Retention = time.Duration(req.RetentionTimeMillis) * time.Millisecond
	}
	snap := s.meta.Snapshot()
	// errs[i][j] is the answer for req.Topics[i].Partitions[j]; index maps the
	// committed offsets back to it.
	errs := make([][]error, len(req.Topics))
	var index [][2]int
	for i, t := range req.Topics {
		errs[i] = make([]error, len(t.Partitions))
		topic, known := snap.Topic(t.Topic)
		for j, p := range t.Partitions {
			if !known || p.Partition < 0 || int(p.Partition) >= len(topic.Partitions) {
				errs[i][j] = fmt.Errorf("commit %s/%d: %w", t.Topic, p.Partition, cluster.ErrUnknownTopic)
				continue
			}
			epoch := int32(-1)
			if r.Version >= 6 {
				epoch = p.LeaderEpoch
			}
			cr.Offsets = append(cr.Offsets, group.OffsetCommit{
				TopicPartition: group.TopicPartition{Topic: t.Topic, Partition: p.Partition},
				Offset:         p.Offset,
				LeaderEpoch:    epoch,
				Metadata:       deref(p.Metadata),
			})
			index = append(index, [2]int{i, j})
		}
	}
	if len(cr.Offsets) > 0 {
		var cerrs []error
		if coord, err := s.groupsOrErr(); err != nil {
			cerrs = make([]error, len(cr.Offsets))
			for k := range cerrs {
				cerrs[k] = err
			}
		} else {
			cerrs = coord.CommitOffsets(req.Group, cr)
		}
		for k, err := range cerrs {
			if errors.Is(err, group.ErrGroupNotFound) && r.Version < 9 {
				// Before v9 a commit to a group that does not exist (with a
				// generation) is an old generation's.
				err = kerr.IllegalGeneration
			}
			errs[index[k][0]][index[k][1]] = err
		}
	}
	for i, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for j, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = errorCode(errs[i][j])
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
