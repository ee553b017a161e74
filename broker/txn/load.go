package txn

import (
	"errors"
	"fmt"

	"github.com/tributary-io/tributary/broker/record"
)

// loader replays one partition of __transaction_state: the latest record of a
// transactional id wins; a tombstone removes it.
type loader struct {
	txns map[string]Txn
	// skipped counts records that could not be decoded; they are reported, not
	// fatal, so one damaged record cannot keep the broker from starting.
	skipped  int
	firstErr error
}

func newLoader() *loader { return &loader{txns: map[string]Txn{}} }

// batch applies every record of one stored batch. Only a batch that cannot be
// parsed at all is an error.
func (l *loader) batch(b []byte) error {
	h, err := record.ParseHeader(b)
	if err != nil {
		return fmt.Errorf("batch header: %w", err)
	}
	if h.IsControl() {
		return nil // the coordinator writes no transactions of its own
	}
	recs, err := record.Records(b)
	if err != nil {
		return fmt.Errorf("records of batch at offset %d: %w", h.BaseOffset, err)
	}
	for _, r := range recs {
		id, t, err := decodeRecord(r.Key, r.Value)
		if errors.Is(err, errSkipRecord) {
			continue
		}
		if err != nil {
			l.skipped++
			if l.firstErr == nil {
				l.firstErr = fmt.Errorf("record at offset %d: %w", h.BaseOffset+int64(r.OffsetDelta), err)
			}
			continue
		}
		if t == nil {
			delete(l.txns, id)
			continue
		}
		l.txns[id] = *t
	}
	return nil
}
