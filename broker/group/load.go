package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// loader replays one partition of __consumer_offsets. Later records of a key win;
// a tombstone removes the key. Transactional offset commits (TxnOffsetCommit) are
// held per producer until their commit marker, and dropped on abort.
type loader struct {
	metas   map[string]*kmsg.GroupMetadataValue
	offsets map[string]map[TopicPartition]Offset
	txn     map[int64][]entry
	// skipped counts records that could not be decoded; they are reported, not fatal,
	// so one damaged record cannot keep the broker from starting.
	skipped  int
	firstErr error
}

func newLoader() *loader {
	return &loader{
		metas:   map[string]*kmsg.GroupMetadataValue{},
		offsets: map[string]map[TopicPartition]Offset{},
		txn:     map[int64][]entry{},
	}
}

// batch applies every record of one stored batch.
func (l *loader) batch(b []byte) error {
	h, err := record.ParseHeader(b)
	if err != nil {
		return fmt.Errorf("batch header: %w", err)
	}
	recs, err := record.Records(b)
	if err != nil {
		return fmt.Errorf("records of batch at offset %d: %w", h.BaseOffset, err)
	}
	if h.IsControl() {
		for _, r := range recs {
			// A control record key is version int16 then type int16: 0 abort, 1 commit.
			if len(r.Key) < 4 {
				continue
			}
			pending := l.txn[h.ProducerID]
			delete(l.txn, h.ProducerID)
			if binary.BigEndian.Uint16(r.Key[2:]) == 1 {
				for _, e := range pending {
					l.apply(e)
				}
			}
		}
		return nil
	}
	for _, r := range recs {
		e, err := decodeRecord(r.Key, r.Value)
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			l.skipped++
			if l.firstErr == nil {
				l.firstErr = fmt.Errorf("record at offset %d: %w", h.BaseOffset+int64(r.OffsetDelta), err)
			}
			continue
		}
		if h.IsTransactional() {
			l.txn[h.ProducerID] = append(l.txn[h.ProducerID], e)
			continue
		}
		l.apply(e)
	}
	return nil
}

func (l *loader) apply(e entry) {
	if e.isOffset {
		if e.offset == nil {
			delete(l.offsets[e.group], e.tp)
			return
		}
		m := l.offsets[e.group]
		if m == nil {
			m = map[TopicPartition]Offset{}
			l.offsets[e.group] = m
		}
		m[e.tp] = *e.offset
		return
	}
	if e.meta == nil {
		delete(l.metas, e.group)
		return
	}
	l.metas[e.group] = e.meta
}

// groups builds the loaded groups: those with metadata as stored, those with only
// offsets as Empty groups that store offsets.
func (l *loader) groups(set *Settings, now time.Time) map[string]*Group {
	out := map[string]*Group{}
	for id, v := range l.metas {
		out[id] = restoreGroup(id, v, set, now)
	}
	for id, offs := range l.offsets {
		if len(offs) == 0 {
			continue
		}
		g := out[id]
		if g == nil {
			g = NewGroup(id, set, now)
			out[id] = g
		}
		for tp, o := range offs {
			g.SetOffset(tp, o)
		}
	}
	return out
}
