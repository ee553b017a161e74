package kafka

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/replication"
)

// handleDescribeLogDirs reports the one log dir (the data dir) with the size of
// each hosted partition (all of them for a null topic list, else those asked for
// that are hosted here) and, from v4, the volume's total and usable bytes. The
// offset lag is that of a current replica, max(high watermark - log end, 0):
// always 0 here.
func (s *Server) handleDescribeLogDirs(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DescribeLogDirsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: describe log dirs handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	dir := kmsg.NewDescribeLogDirsResponseDir()
	path, err := filepath.Abs(s.cfg.DataDir)
	if err != nil {
		path = s.cfg.DataDir
	}
	dir.Dir = path
	if total, usable, err := volumeBytes(path); err == nil {
		dir.TotalBytes, dir.UsableBytes = total, usable
	} else {
		s.logger.Warn("cannot read the data dir's volume size", "dir", path, "err", err)
	}

	var parts []*replication.Partition
	if req.Topics == nil {
		parts = s.parts.Partitions()
	} else {
		for _, rt := range req.Topics {
			for _, id := range rt.Partitions {
				if p, err := s.parts.Partition(rt.Topic, id); err == nil {
					parts = append(parts, p)
				}
			}
		}
	}
	slices.SortFunc(parts, func(a, b *replication.Partition) int {
		ta, tb := a.TopicPartition(), b.TopicPartition()
		if c := strings.Compare(ta.Topic, tb.Topic); c != 0 {
			return c
		}
		return int(ta.Partition) - int(tb.Partition)
	})
	parts = slices.CompactFunc(parts, func(a, b *replication.Partition) bool { return a == b })
	for _, p := range parts {
		tp := p.TopicPartition()
		if n := len(dir.Topics); n == 0 || dir.Topics[n-1].Topic != tp.Topic {
			t := kmsg.NewDescribeLogDirsResponseDirTopic()
			t.Topic = tp.Topic
			dir.Topics = append(dir.Topics, t)
		}
		dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		dp.Partition = tp.Partition
		dp.Size = p.Log().Size()
		dp.OffsetLag = max(p.HighWatermark()-p.Log().EndOffset(), 0)
		t := &dir.Topics[len(dir.Topics)-1]
		t.Partitions = append(t.Partitions, dp)
	}
	resp.Dirs = []kmsg.DescribeLogDirsResponseDir{dir}
	return resp, nil
}
