package txn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// Records of __transaction_state, in Kafka's formats: the key is TxnMetadataKey
// version 0 (the transactional id), the value TxnMetadataValue version 1
// (version 0's fields plus the tagged PreviousProducerID). A tombstone (null
// value) removes the id. Later records of a key replace earlier ones, so the
// topic is compacted.
const (
	txnKeyVersion   = 0
	txnValueVersion = 1
)

// kv is one record; a nil Value is a tombstone.
type kv struct {
	Key, Value []byte
}

func txnKey(id string) []byte {
	k := kmsg.TxnMetadataKey{Version: txnKeyVersion, TransactionalID: id}
	return k.AppendTo(nil)
}

// txnRecord encodes t as it must be stored.
func txnRecord(t Txn) kv {
	if t.State == Dead {
		return kv{Key: txnKey(t.ID)}
	}
	v := kmsg.NewTxnMetadataValue()
	v.Version = txnValueVersion
	v.ProducerID = t.ProducerID
	v.ProducerEpoch = t.Epoch
	v.TimeoutMillis = int32(min(t.Timeout.Milliseconds(), math.MaxInt32))
	v.State = kmsg.TransactionState(t.State)
	v.LastUpdateTimestamp = t.LastUpdate.UnixMilli()
	v.StartTimestamp = -1
	if !t.StartTime.IsZero() {
		v.StartTimestamp = t.StartTime.UnixMilli()
	}
	v.PreviousProducerID = t.LastProducerID
	for _, tp := range t.Partitions {
		if n := len(v.Topics); n > 0 && v.Topics[n-1].Topic == tp.Topic {
			v.Topics[n-1].Partitions = append(v.Topics[n-1].Partitions, tp.Partition)
			continue
		}
		vt := kmsg.NewTxnMetadataValueTopic()
		vt.Topic = tp.Topic
		vt.Partitions = []int32{tp.Partition}
		v.Topics = append(v.Topics, vt)
	}
	return kv{Key: txnKey(t.ID), Value: v.AppendTo(nil)}
}

// errSkipRecord marks a record of a key version this coordinator does not use.
var errSkipRecord = errors.New("txn: record type not used")

// decodeRecord parses one record: the transactional id, and its state (nil for a
// tombstone). Values are checked so that a damaged record cannot install a
// state the coordinator could never reach.
func decodeRecord(key, value []byte) (string, *Txn, error) {
	if len(key) < 2 {
		return "", nil, fmt.Errorf("%w: key of %d bytes", ErrBadRecord, len(key))
	}
	if v := int16(binary.BigEndian.Uint16(key)); v != txnKeyVersion {
		return "", nil, errSkipRecord
	}
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return "", nil, fmt.Errorf("%w: key: %v", ErrBadRecord, err)
	}
	if value == nil {
		return k.TransactionalID, nil, nil
	}
	v := kmsg.NewTxnMetadataValue()
	if err := v.ReadFrom(value); err != nil {
		return "", nil, fmt.Errorf("%w: value of %q: %v", ErrBadRecord, k.TransactionalID, err)
	}
	state := State(v.State)
	if state < Empty || state > PrepareEpochFence || state == Dead {
		return "", nil, fmt.Errorf("%w: %q has state %d", ErrBadRecord, k.TransactionalID, v.State)
	}
	if k.TransactionalID == "" || v.ProducerID < 0 || v.TimeoutMillis < 0 || v.ProducerEpoch < -1 {
		return "", nil, fmt.Errorf("%w: %q: producer %d epoch %d timeout %d", ErrBadRecord, k.TransactionalID, v.ProducerID, v.ProducerEpoch, v.TimeoutMillis)
	}
	t := &Txn{
		ID:             k.TransactionalID,
		ProducerID:     v.ProducerID,
		LastProducerID: -1,
		Epoch:          v.ProducerEpoch,
		LastEpoch:      -1,
		Timeout:        time.Duration(v.TimeoutMillis) * time.Millisecond,
		State:          state,
		LastUpdate:     time.UnixMilli(v.LastUpdateTimestamp),
	}
	if v.Version >= 1 && v.PreviousProducerID >= 0 {
		t.LastProducerID = v.PreviousProducerID
	}
	if v.StartTimestamp >= 0 {
		t.StartTime = time.UnixMilli(v.StartTimestamp)
	}
	for _, vt := range v.Topics {
		for _, p := range vt.Partitions {
			t.Partitions = append(t.Partitions, TopicPartition{Topic: vt.Topic, Partition: p})
		}
	}
	sortUnique(&t.Partitions)
	if state == PrepareEpochFence {
		// Never written by us; Kafka does not either. The fence was not stored,
		// so the transaction is still open at that epoch.
		t.State = Ongoing
	}
	return t.ID, t, nil
}

func sortUnique(tps *[]TopicPartition) {
	s := *tps
	if len(s) < 2 {
		return
	}
	sortTPs(s)
	out := s[:1]
	for _, tp := range s[1:] {
		if tp != out[len(out)-1] {
			out = append(out, tp)
		}
	}
	*tps = out
}

// buildBatch encodes records into one non-transactional RecordBatch v2.
func buildBatch(now time.Time, recs []kv) ([]byte, error) {
	rs := make([]record.Record, len(recs))
	for i, r := range recs {
		rs[i] = record.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
	}
	b, err := record.Build(record.BatchSpec{
		BaseTimestamp: now.UnixMilli(),
		ProducerID:    -1,
		ProducerEpoch: -1,
		BaseSequence:  -1,
	}, rs)
	if err != nil {
		return nil, fmt.Errorf("build %s batch of %d records: %w", StateTopic, len(recs), err)
	}
	return b, nil
}
