package txn

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// Marker is a transaction marker for one producer: the control batch that
// commits or aborts its open transaction in a partition.
type Marker struct {
	ProducerID    int64
	ProducerEpoch int16
	Commit        bool
	// CoordinatorEpoch is the leader epoch of the coordinator's partition of
	// __transaction_state, stored in the marker as Kafka does.
	CoordinatorEpoch int32
}

// MarkerBatch encodes m as Kafka writes it: a RecordBatch v2 with the control and
// transactional attributes, the producer's id and epoch, no sequence, and one
// record whose key is the control type (version 0, type 0 abort / 1 commit) and
// whose value is the EndTxnMarker (version 0, coordinator epoch).
func MarkerBatch(m Marker, now time.Time) ([]byte, error) {
	typ := kmsg.ControlRecordKeyTypeAbort
	if m.Commit {
		typ = kmsg.ControlRecordKeyTypeCommit
	}
	key := kmsg.ControlRecordKey{Version: 0, Type: typ}
	val := kmsg.EndTxnMarker{Version: 0, CoordinatorEpoch: m.CoordinatorEpoch}
	b, err := record.Build(record.BatchSpec{
		Attributes:    record.AttrControl | record.AttrTransactional,
		BaseTimestamp: now.UnixMilli(),
		ProducerID:    m.ProducerID,
		ProducerEpoch: m.ProducerEpoch,
		BaseSequence:  -1,
	}, []record.Record{{Key: key.AppendTo(nil), Value: val.AppendTo(nil)}})
	if err != nil {
		return nil, fmt.Errorf("build marker for producer %d: %w", m.ProducerID, err)
	}
	return b, nil
}
