package broker

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/replication"
	"github.com/tributary-io/tributary/broker/txn"
)

// Marker timing. A marker waits for the in-sync replicas like an acks=all
// produce, but within EndTxn: the coordinator answers the producer after its
// markers, so these stay well inside a client's request timeout. A marker that
// did not make it is retried by the coordinator.
const (
	markerReplicationWait = 5 * time.Second
	markerPeerDial        = 2 * time.Second
	markerPeerRequest     = markerReplicationWait + 2*time.Second
)

// markerWriter writes transaction markers for the transaction coordinator
// (txn.MarkerWriter, txn.MarkersWriter) and for WriteTxnMarkers requests from
// other brokers' coordinators (kafka.MarkerAppender).
//
// A partition this node leads is appended here; one led by another broker gets
// a WriteTxnMarkers request, one per destination broker, sent over a
// connection dialed as replica fetchers dial leaders. Markers for
// __consumer_offsets go through the group coordinator, which applies or drops
// the transaction's pending offsets under the same lock.
type markerWriter struct {
	node   int32
	meta   interface{ Snapshot() *cluster.Snapshot }
	parts  *replication.Manager
	groups *group.Coordinator
	now    func() time.Time
}

// WriteMarker writes mk to tp; see WriteMarkers.
func (m markerWriter) WriteMarker(tp txn.TopicPartition, mk txn.Marker) error {
	return m.WriteMarkers([]txn.TopicPartition{tp}, mk)[0]
}

// WriteMarkers writes mk to every partition of tps, led here or elsewhere, the
// brokers in parallel. A partition the metadata no longer has (its topic was
// deleted) counts as written. Every other failure (no leader, a leader that
// moved, a broker that cannot be reached) is returned so the coordinator
// retries it against the leader the metadata names then.
func (m markerWriter) WriteMarkers(tps []txn.TopicPartition, mk txn.Marker) []error {
	errs := make([]error, len(tps))
	snap := m.meta.Snapshot()
	byLeader := map[int32][]int{} // destination broker → indexes into tps
	for i, tp := range tps {
		t, ok := snap.Topic(tp.Topic)
		if !ok || tp.Partition < 0 || int(tp.Partition) >= len(t.Partitions) {
			continue // deleted: there is nothing left to mark
		}
		leader := t.Partitions[tp.Partition].Leader
		if leader == cluster.NoLeader {
			errs[i] = fmt.Errorf("%s-%d: %w", tp.Topic, tp.Partition, kerr.LeaderNotAvailable)
			continue
		}
		byLeader[leader] = append(byLeader[leader], i)
	}
	var wg sync.WaitGroup
	for leader, idx := range byLeader {
		sub := make([]txn.TopicPartition, len(idx))
		for j, i := range idx {
			sub[j] = tps[i]
		}
		wg.Go(func() {
			var got []error
			if leader == m.node {
				got = m.AppendMarkers(mk, sub)
			} else {
				got = m.sendMarkers(leader, mk, sub)
			}
			for j, i := range idx {
				errs[i] = got[j]
			}
		})
	}
	wg.Wait()
	return errs
}

// AppendMarkers appends mk to partitions this node leads, each waiting for its
// in-sync replicas, in parallel (kafka.MarkerAppender).
func (m markerWriter) AppendMarkers(mk txn.Marker, tps []txn.TopicPartition) []error {
	errs := make([]error, len(tps))
	batch, err := txn.MarkerBatch(mk, m.now())
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	var wg sync.WaitGroup
	for i, tp := range tps {
		wg.Go(func() { errs[i] = m.appendLocal(tp, mk, batch) })
	}
	wg.Wait()
	return errs
}

// appendLocal writes one marker batch to the local leader replica of tp and
// waits until the in-sync replicas have it, as an acks=all produce. batch is
// shared by the partitions of a marker: each append gets its own copy, since
// the log patches offsets in place.
func (m markerWriter) appendLocal(tp txn.TopicPartition, mk txn.Marker, batch []byte) error {
	part, err := m.parts.Partition(tp.Topic, tp.Partition)
	if err != nil {
		// The metadata has the partition (callers checked) but it is not
		// hosted here, or not yet: not this node's to write.
		return fmt.Errorf("%s-%d: %w: %w", tp.Topic, tp.Partition, replication.ErrNotLeader, err)
	}
	if !part.IsLeader() {
		return fmt.Errorf("%s-%d is led by %d: %w", tp.Topic, tp.Partition, part.Leader(), replication.ErrNotLeader)
	}
	if tp.Topic == group.OffsetsTopic {
		// Appended (and replicated) through the group coordinator's log.
		err := m.groups.CompleteTxn(tp.Partition, mk.ProducerID, mk.Commit, append([]byte(nil), batch...))
		if errors.Is(err, group.ErrNotCoordinator) || errors.Is(err, group.ErrLoadInProgress) {
			// Leadership just moved here or away; the group coordinator follows it.
			return fmt.Errorf("%w: %w", replication.ErrNotLeader, err)
		}
		return err
	}
	if err := part.CheckEnoughReplicas(); err != nil {
		return err
	}
	info, err := part.AppendCoordinator(append([]byte(nil), batch...))
	if err != nil {
		return err
	}
	return part.WaitReplicated(info.LastOffset, markerReplicationWait, nil)
}

// sendMarkers asks broker leader to write mk to tps (WriteTxnMarkers v0, the
// non-flexible version the inter-broker connection speaks) and returns its
// answer per partition. A partition it did not answer for is an error.
func (m markerWriter) sendMarkers(leader int32, mk txn.Marker, tps []txn.TopicPartition) []error {
	errs := make([]error, len(tps))
	fail := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	req := kmsg.NewWriteTxnMarkersRequest()
	req.SetVersion(0)
	rm := kmsg.NewWriteTxnMarkersRequestMarker()
	rm.ProducerID, rm.ProducerEpoch, rm.Committed, rm.CoordinatorEpoch = mk.ProducerID, mk.ProducerEpoch, mk.Commit, mk.CoordinatorEpoch
	topicAt := map[string]int{}
	for _, tp := range tps {
		i, ok := topicAt[tp.Topic]
		if !ok {
			i = len(rm.Topics)
			topicAt[tp.Topic] = i
			rt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
			rt.Topic = tp.Topic
			rm.Topics = append(rm.Topics, rt)
		}
		rm.Topics[i].Partitions = append(rm.Topics[i].Partitions, tp.Partition)
	}
	req.Markers = append(req.Markers, rm)

	conn, err := m.parts.DialPeer(leader, "tributary-txn-markers-"+strconv.Itoa(int(m.node)), markerPeerDial)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	resp := kmsg.NewWriteTxnMarkersResponse()
	if err := conn.Request(&req, &resp, markerPeerRequest); err != nil {
		return fail(fmt.Errorf("write txn markers on broker %d: %w", leader, err))
	}
	answered := map[txn.TopicPartition]error{}
	for _, am := range resp.Markers {
		if am.ProducerID != mk.ProducerID {
			continue
		}
		for _, t := range am.Topics {
			for _, p := range t.Partitions {
				answered[txn.TopicPartition{Topic: t.Topic, Partition: p.Partition}] = kerr.ErrorForCode(p.ErrorCode)
			}
		}
	}
	for i, tp := range tps {
		err, ok := answered[tp]
		switch {
		case !ok:
			errs[i] = fmt.Errorf("broker %d did not answer for %s-%d", leader, tp.Topic, tp.Partition)
		case err != nil:
			errs[i] = fmt.Errorf("broker %d: %w", leader, err)
		}
	}
	return errs
}
