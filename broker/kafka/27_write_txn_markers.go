package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/replication"
	"github.com/tributary-io/tributary/broker/txn"
)

// MarkerAppender appends transaction markers to partitions this node leads.
// The broker implements it over its replicas and the group coordinator (a
// marker for __consumer_offsets also applies or drops the transaction's pending
// offsets), the same path its own transaction coordinator uses for the
// partitions it leads.
type MarkerAppender interface {
	// AppendMarkers writes m's control batch to every partition of tps and
	// returns, once the in-sync replicas have them, one error per partition in
	// order: wrapping replication.ErrNotLeader when this node does not lead it,
	// otherwise what the append or the replication wait returned.
	AppendMarkers(m txn.Marker, tps []txn.TopicPartition) []error
}

// SetMarkerAppender installs what WriteTxnMarkers writes through. Call it
// before Serve; without one every partition is answered NOT_LEADER_OR_FOLLOWER.
func (s *Server) SetMarkerAppender(m MarkerAppender) { s.markers = m }

// handleWriteTxnMarkers writes the commit or abort markers another broker's
// transaction coordinator sends for the partitions this node leads (v0-1; the
// KIP-890 transaction version of v2 is not served). Each partition gets its own
// error code: UNKNOWN_TOPIC_OR_PARTITION when the metadata does not have it,
// NOT_LEADER_OR_FOLLOWER when another node leads it, and the append's error
// otherwise. The coordinator retries the partitions that failed.
func (s *Server) handleWriteTxnMarkers(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.WriteTxnMarkersRequest)
	if !ok {
		return nil, fmt.Errorf("%w: write txn markers handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	snap := s.meta.Snapshot()
	for _, mk := range req.Markers {
		m := txn.Marker{ProducerID: mk.ProducerID, ProducerEpoch: mk.ProducerEpoch, Commit: mk.Committed,
			CoordinatorEpoch: mk.CoordinatorEpoch}
		// Known partitions are appended together; at[i][j] is the index in tps
		// of Topics[i].Partitions[j], or -1 when the metadata lacks it.
		var tps []txn.TopicPartition
		at := make([][]int, len(mk.Topics))
		for i, t := range mk.Topics {
			at[i] = make([]int, len(t.Partitions))
			for j, p := range t.Partitions {
				at[i][j] = -1
				if partitionExists(snap, t.Topic, p) {
					at[i][j] = len(tps)
					tps = append(tps, txn.TopicPartition{Topic: t.Topic, Partition: p})
				}
			}
		}
		errs := s.appendMarkers(m, tps)
		answerMarker(resp, mk, func(i, j int) int16 {
			if k := at[i][j]; k >= 0 {
				return errorCode(errs[k])
			}
			return kerr.UnknownTopicOrPartition.Code
		})
	}
	return resp, nil
}

// answerMarker adds mk's answer to resp: Topics[i].Partitions[j] of the marker
// gets code(i, j).
func answerMarker(resp *kmsg.WriteTxnMarkersResponse, mk kmsg.WriteTxnMarkersRequestMarker, code func(i, j int) int16) {
	rm := kmsg.NewWriteTxnMarkersResponseMarker()
	rm.ProducerID = mk.ProducerID
	for i, t := range mk.Topics {
		rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
		rt.Topic = t.Topic
		for j, p := range t.Partitions {
			rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
			rp.Partition, rp.ErrorCode = p, code(i, j)
			rt.Partitions = append(rt.Partitions, rp)
		}
		rm.Topics = append(rm.Topics, rt)
	}
	resp.Markers = append(resp.Markers, rm)
}

// appendMarkers writes m to tps through the installed appender, one error per
// partition.
func (s *Server) appendMarkers(m txn.Marker, tps []txn.TopicPartition) []error {
	if len(tps) == 0 {
		return nil
	}
	var errs []error
	if s.markers != nil {
		errs = s.markers.AppendMarkers(m, tps)
	}
	if len(errs) != len(tps) {
		// No appender (or one that broke its contract): nothing was written here.
		errs = make([]error, len(tps))
		for i := range errs {
			errs[i] = fmt.Errorf("no marker appender on this broker: %w", replication.ErrNotLeader)
		}
	}
	return errs
}
