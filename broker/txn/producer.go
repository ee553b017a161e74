package txn

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// MaxCachedBatches is how many of a producer's latest batches a partition
// remembers for duplicate detection. Kafka clients keep at most five requests in
// flight per connection with idempotence, so a retry always finds its batch here.
const MaxCachedBatches = 5

// BatchMeta is one appended batch of a producer, as remembered for duplicates.
type BatchMeta struct {
	FirstSeq    int32
	LastSeq     int32
	FirstOffset int64
	LastOffset  int64
	// Timestamp is the batch's max timestamp, returned again for a duplicate.
	Timestamp int64
}

// Producer is what a partition knows of one producer id: its epoch, its latest
// batches (the last sequence is the newest batch's LastSeq) and its open
// transaction, if any.
type Producer struct {
	ID    int64
	Epoch int16
	// CoordinatorEpoch is from the last transaction marker (-1 before any).
	CoordinatorEpoch int32
	// LastTimestamp is when the producer last wrote, in Unix milliseconds, by
	// the broker's clock (for batches replayed from the log on open: the time of
	// the replay). producer.id.expiration.ms counts from it.
	LastTimestamp int64
	// TxnFirstOffset is the first offset of the producer's open transaction in
	// this partition, or -1 when none is open.
	TxnFirstOffset int64
	// Batches are the latest batches, oldest first, at most MaxCachedBatches.
	// They are cleared when the epoch changes, since sequences restart at 0.
	Batches []BatchMeta
}

func newProducer(id int64) *Producer {
	return &Producer{ID: id, Epoch: -1, CoordinatorEpoch: -1, TxnFirstOffset: -1}
}

func (p *Producer) clone() *Producer {
	c := *p
	c.Batches = append([]BatchMeta(nil), p.Batches...)
	return &c
}

// LastSeq is the last sequence the partition holds, or -1 when it holds none
// (a new producer, a new epoch, or one known only from a marker).
func (p *Producer) LastSeq() int32 {
	if len(p.Batches) == 0 {
		return -1
	}
	return p.Batches[len(p.Batches)-1].LastSeq
}

func (p *Producer) findDuplicate(firstSeq, lastSeq int32) (BatchMeta, bool) {
	for _, b := range p.Batches {
		if b.FirstSeq == firstSeq && b.LastSeq == lastSeq {
			return b, true
		}
	}
	return BatchMeta{}, false
}

func (p *Producer) addBatch(m BatchMeta) {
	if len(p.Batches) == MaxCachedBatches {
		copy(p.Batches, p.Batches[1:])
		p.Batches = p.Batches[:MaxCachedBatches-1]
	}
	p.Batches = append(p.Batches, m)
}

// bumpEpoch moves to a newer epoch; sequences restart, so the cached batches go.
func (p *Producer) bumpEpoch(epoch int16) {
	if epoch > p.Epoch {
		p.Epoch = epoch
		p.Batches = p.Batches[:0]
	}
}

// inSequence reports whether next follows last (sequences wrap to 0 after MaxInt32).
func inSequence(last, next int32) bool {
	return next == last+1 || (last == math.MaxInt32 && next == 0)
}

// lastSequence is the sequence of a batch's last record, wrapping as Kafka does.
func lastSequence(h record.Header) int32 {
	if h.BaseSequence > math.MaxInt32-h.LastOffsetDelta {
		return h.LastOffsetDelta - (math.MaxInt32 - h.BaseSequence) - 1
	}
	return h.BaseSequence + h.LastOffsetDelta
}

// Control record types (the key's second int16).
const (
	controlAbort  = 0
	controlCommit = 1
)

// batchInfo is a batch header with its marker decoded, when it is a control batch.
type batchInfo struct {
	h record.Header
	// control is -1 for a data batch, else controlAbort or controlCommit.
	control          int
	coordinatorEpoch int32
}

// parseBatch reads what producer state needs of one batch. Only a control
// batch's records are decoded; they are tiny.
func parseBatch(batch []byte, h record.Header) (batchInfo, error) {
	b := batchInfo{h: h, control: -1, coordinatorEpoch: -1}
	if !h.IsControl() {
		return b, nil
	}
	recs, err := record.Records(batch)
	if err != nil {
		return b, fmt.Errorf("control batch at offset %d: %w", h.BaseOffset, err)
	}
	if len(recs) == 0 {
		return b, fmt.Errorf("control batch at offset %d has no records: %w", h.BaseOffset, record.ErrInvalidRecord)
	}
	key := recs[0].Key
	if len(key) < 4 {
		return b, fmt.Errorf("control batch at offset %d: key of %d bytes: %w", h.BaseOffset, len(key), record.ErrInvalidRecord)
	}
	switch kmsg.ControlRecordKeyType(binary.BigEndian.Uint16(key[2:4])) {
	case kmsg.ControlRecordKeyTypeAbort:
		b.control = controlAbort
	case kmsg.ControlRecordKeyTypeCommit:
		b.control = controlCommit
	default:
		// Other control records (KRaft's) end no transaction.
		b.control = -2
		return b, nil
	}
	if v := recs[0].Value; len(v) >= 6 {
		b.coordinatorEpoch = int32(binary.BigEndian.Uint32(v[2:6]))
	}
	return b, nil
}

// isMarker reports whether b ends a transaction.
func (b batchInfo) isMarker() bool { return b.control == controlAbort || b.control == controlCommit }

// validate checks one batch against p, the producer's state so far (nil when the
// partition knows nothing of it). A duplicate of a cached batch is returned, not
// an error. fromClient is false for the broker's own writes (the group
// coordinator's transactional offsets, markers), which skip sequence checks.
func validate(p *Producer, b batchInfo, fromClient bool) (*BatchMeta, error) {
	h := b.h
	epoch := int16(-1)
	if p != nil {
		epoch = p.Epoch
	}
	if b.isMarker() {
		if h.ProducerEpoch < epoch {
			return nil, fmt.Errorf("marker of producer %d has epoch %d, current is %d: %w", h.ProducerID, h.ProducerEpoch, epoch, ErrProducerFenced)
		}
		// A coordinator that lost its partition of __transaction_state may still
		// retry markers; once a newer coordinator has written one here, the old
		// one's are refused so they cannot end a transaction it no longer owns.
		if p != nil && b.coordinatorEpoch < p.CoordinatorEpoch {
			return nil, fmt.Errorf("marker of producer %d from coordinator epoch %d, this partition has seen %d: %w",
				h.ProducerID, b.coordinatorEpoch, p.CoordinatorEpoch, ErrTransactionCoordinatorFenced)
		}
		return nil, nil
	}
	if h.ProducerEpoch < epoch {
		return nil, fmt.Errorf("producer %d epoch %d is older than %d: %w", h.ProducerID, h.ProducerEpoch, epoch, ErrInvalidProducerEpoch)
	}
	if p != nil && p.TxnFirstOffset >= 0 && !h.IsTransactional() {
		return nil, fmt.Errorf("producer %d wrote a non-transactional batch inside its open transaction: %w", h.ProducerID, ErrInvalidTxnState)
	}
	if !fromClient {
		return nil, nil
	}
	if h.BaseSequence < 0 {
		return nil, fmt.Errorf("producer %d batch without a sequence number: %w", h.ProducerID, record.ErrInvalidRecord)
	}
	first, last := h.BaseSequence, lastSequence(h)
	if p != nil && h.ProducerEpoch == p.Epoch {
		if d, ok := p.findDuplicate(first, last); ok {
			return &d, nil
		}
	}
	switch {
	case p == nil:
		// No state: a new producer, or one this partition forgot (idle past
		// producer.id.expiration.ms, or its records deleted). Any sequence is
		// accepted, as Kafka does since 2.8 ("accept writes with any sequence
		// number"): refusing with UNKNOWN_PRODUCER_ID, as older brokers did,
		// makes a transactional client abort, and franz-go's recovery from it
		// (InitProducerId while the transaction is open) is fenced.
	case h.ProducerEpoch != p.Epoch:
		// A new epoch of a known producer: sequences restart at 0.
		if first != 0 {
			return nil, fmt.Errorf("producer %d new epoch %d starts at sequence %d, not 0: %w", h.ProducerID, h.ProducerEpoch, first, ErrOutOfOrderSequence)
		}
	case !inSequence(p.LastSeq(), first):
		// LastSeq is -1 for a producer known here only from a marker, so only a
		// batch starting at 0 follows it.
		return nil, fmt.Errorf("producer %d epoch %d: sequence %d does not follow %d: %w", h.ProducerID, h.ProducerEpoch, first, p.LastSeq(), ErrOutOfOrderSequence)
	}
	return nil, nil
}

// update applies one batch (already validated, or read back from the log) to p
// and returns it; p may be nil for a producer seen for the first time. ts is the
// producer's new LastTimestamp. aborted is called for a transaction the batch
// aborts, with its first and last offset.
func update(p *Producer, b batchInfo, ts int64, aborted func(pid, first, last int64)) *Producer {
	h := b.h
	if p == nil {
		p = newProducer(h.ProducerID)
	}
	p.bumpEpoch(h.ProducerEpoch)
	p.LastTimestamp = max(p.LastTimestamp, ts)
	if b.isMarker() {
		p.CoordinatorEpoch = b.coordinatorEpoch
		if p.TxnFirstOffset >= 0 {
			if b.control == controlAbort && aborted != nil {
				aborted(p.ID, p.TxnFirstOffset, h.BaseOffset)
			}
			p.TxnFirstOffset = -1
		}
		return p
	}
	if h.BaseSequence >= 0 {
		p.addBatch(BatchMeta{
			FirstSeq:    h.BaseSequence,
			LastSeq:     lastSequence(h),
			FirstOffset: h.BaseOffset,
			LastOffset:  h.LastOffset(),
			Timestamp:   h.MaxTimestamp,
		})
	}
	if h.IsTransactional() && p.TxnFirstOffset < 0 {
		p.TxnFirstOffset = h.BaseOffset
	}
	return p
}
