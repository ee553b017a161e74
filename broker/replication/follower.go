package replication

import (
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// fetcher copies one partition from its leader while this node follows it at
// one leader epoch. A new leader or epoch gets a new fetcher; the old one is
// told to stop and its appends are refused by epoch (ErrStaleEpoch) even before
// it notices.
type fetcher struct {
	p      *Partition
	leader int32
	epoch  int32
	stop   chan struct{}
}

// Replica fetch sizes: long-poll like a consumer, large enough to catch up fast.
const (
	replicaFetchWait     = 500 * time.Millisecond
	replicaFetchMaxBytes = 8 << 20
	replicaBackoff       = 100 * time.Millisecond
)

func (f *fetcher) stopped() bool {
	select {
	case <-f.stop:
		return true
	default:
		return false
	}
}

// sleep waits d or until stop; it reports whether to go on.
func (f *fetcher) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-f.stop:
		return false
	}
}

// run is the fetcher's goroutine; the Manager owns it (wg) and stops it.
func (m *Manager) runFetcher(f *fetcher) {
	defer m.wg.Done()
	var conn *wireConn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	truncated := false
	for !f.stopped() {
		if conn == nil {
			c, err := m.dialBroker(f.leader, "tributary-replica-"+strconv.Itoa(int(m.cfg.NodeID)), 2*time.Second)
			if err != nil {
				if !f.sleep(replicaBackoff) {
					return
				}
				continue
			}
			conn = c
		}
		var err error
		if !truncated {
			err = m.truncateDivergent(conn, f)
			truncated = err == nil
		} else {
			err = m.fetchOnce(conn, f)
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) || isConnErr(err) {
				conn.Close()
				conn = nil
			}
			if !errors.Is(err, ErrStaleEpoch) {
				m.logger.Debug("replica fetch failed", "partition", f.p.tp.String(), "leader", f.leader, "err", err)
			}
			if !f.sleep(replicaBackoff) {
				return
			}
		}
	}
}

func isConnErr(err error) bool {
	var k *kerr.Error
	return !errors.As(err, &k) && !errors.Is(err, ErrStaleEpoch)
}

// truncateDivergent asks the leader where this replica's latest epoch ended
// there (OffsetForLeaderEpoch, KIP-101/KIP-279) and cuts the local log back to
// that point: records past it were never committed and differ from the leader's.
func (m *Manager) truncateDivergent(conn *wireConn, f *fetcher) error {
	p := f.p
	mine := int32(-1)
	if p.epochs != nil {
		mine = p.epochs.latest()
	}
	if mine < 0 || p.log.EndOffset() == 0 {
		return nil
	}
	req := kmsg.NewOffsetForLeaderEpochRequest()
	req.SetVersion(3)
	req.ReplicaID = m.cfg.NodeID
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = p.tp.Topic
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = p.tp.Partition, f.epoch, mine
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewOffsetForLeaderEpochResponse()
	if err := conn.request(&req, &resp, 5*time.Second); err != nil {
		return err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return errors.New("offset for leader epoch: malformed response")
	}
	ans := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(ans.ErrorCode); err != nil {
		return err
	}
	cut := ans.EndOffset
	if ans.LeaderEpoch < 0 || ans.EndOffset < 0 {
		cut = 0 // the leader has no history this old: start over from it
	} else if _, mineEnd := p.epochs.endOffsetFor(ans.LeaderEpoch, p.log.EndOffset()); mineEnd >= 0 {
		cut = min(cut, mineEnd)
	}
	if cut < p.log.EndOffset() {
		m.logger.Info("truncating divergent replica tail", "partition", p.tp.String(), "from", p.log.EndOffset(), "to", cut,
			"leader", f.leader, "leader_epoch", f.epoch)
		return p.truncateTo(cut, f.epoch)
	}
	return nil
}

// fetchOnce fetches from the log end and appends what comes back.
func (m *Manager) fetchOnce(conn *wireConn, f *fetcher) error {
	p := f.p
	req := kmsg.NewFetchRequest()
	req.SetVersion(11)
	req.ReplicaID = m.cfg.NodeID
	req.MaxWaitMillis = int32(replicaFetchWait / time.Millisecond)
	req.MinBytes = 1
	req.MaxBytes = replicaFetchMaxBytes
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = p.tp.Topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = p.tp.Partition
	rp.CurrentLeaderEpoch = f.epoch
	rp.FetchOffset = p.log.EndOffset()
	rp.LogStartOffset = p.log.StartOffset()
	rp.PartitionMaxBytes = replicaFetchMaxBytes
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewFetchResponse()
	if err := conn.request(&req, &resp, replicaFetchWait+2*time.Second); err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return errors.New("replica fetch: malformed response")
	}
	ans := &resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(ans.ErrorCode); err != nil {
		if errors.Is(err, kerr.OffsetOutOfRange) && rp.FetchOffset > ans.HighWatermark && ans.HighWatermark >= 0 {
			// Ahead of the leader (an unclean election): its log wins.
			return p.truncateTo(ans.HighWatermark, f.epoch)
		}
		return err
	}
	batches := wholeBatches(ans.RecordBatches)
	if len(batches) > 0 {
		if _, err := p.appendFollower(batches, f.epoch); err != nil {
			return err
		}
	}
	p.setFollowerHW(ans.HighWatermark)
	return nil
}

// wholeBatches drops a partial batch at the end (a leader may cut the last
// one at the byte limit).
func wholeBatches(b []byte) []byte {
	n := 0
	for rest := b; len(rest) > 0; {
		batch, r, _, err := record.Next(rest)
		if err != nil {
			break
		}
		n += len(batch)
		rest = r
	}
	return b[:n]
}
