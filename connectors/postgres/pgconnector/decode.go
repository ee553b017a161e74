package pgconnector

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tributary-io/tributary/connectors/postgres/pgoutput"
	"github.com/tributary-io/tributary/connectors/postgres/pgtypes"
	"github.com/tributary-io/tributary/sdk"
)

// relation is a table as the stream describes it (its latest Relation
// message) with what events need.
type relation struct {
	table    tableName
	cols     []colDesc
	identity []int // columns of the replica identity key
	key      []int // primary key columns; nil when the table has none
	captured bool
	topic    string
}

// decoder turns pgoutput messages into records with positions. It runs on
// the Read side, so catalog lookups use the source's auxiliary connection.
//
// The newest record of an open transaction is held back until the next
// message: when that is the transaction's Commit, the record's position
// says the transaction is complete (resume after it); otherwise it says
// how many of the transaction's records came so far. So a record's
// position does not depend on how reads were timed, and a record read
// again after a restart is the same, position included.
type decoder struct {
	env        envelope
	cat        *catalog
	captured   map[uint32]bool // captured tables by OID
	tombstones bool
	after      keyAfter
	rels       map[uint32]*relation

	begin   *pgoutput.Begin // the open transaction, nil between them
	index   int             // records of the open transaction so far
	skipN   int             // records of the open transaction delivered before a restart
	skipAll bool            // the open transaction was delivered before a restart

	resume pgoutput.LSN // every transaction that committed before it is done
	walEnd pgoutput.LSN // the newest keepalive's end of WAL
	skipTx pgoutput.LSN // from the opened position: a transaction partly delivered
	skipCt int          // and how many of its records
	snap   *snapPos     // the snapshot's progress, while it filters changes

	held *sdk.Record
	out  []sdk.Record
}

// handle processes one stream item.
func (d *decoder) handle(ctx context.Context, it streamItem) error {
	if it.data == nil {
		d.walEnd = max(d.walEnd, it.walEnd)
		return nil
	}
	msg, err := pgoutput.Parse(it.data)
	if err != nil {
		return fmt.Errorf("decode at %s: %w", it.walStart, err)
	}
	switch m := msg.(type) {
	case *pgoutput.Begin:
		d.begin, d.index, d.skipN = m, 0, 0
		d.skipAll = m.FinalLSN < d.resume
		if m.FinalLSN == d.skipTx {
			d.skipN = d.skipCt
		}
	case *pgoutput.Commit:
		if d.held != nil {
			p := position{Resume: uint64(m.EndLSN), Snap: d.snapFor(m.EndLSN)}
			d.held.Position = p.encode()
			d.out = append(d.out, *d.held)
			d.held = nil
		}
		d.resume = max(d.resume, m.EndLSN)
		d.begin = nil
	case *pgoutput.Relation:
		return d.relation(ctx, m)
	case *pgoutput.Insert, *pgoutput.Update, *pgoutput.Delete, *pgoutput.Truncate:
		if d.begin == nil {
			return fmt.Errorf("decode at %s: a change outside a transaction", it.walStart)
		}
		return d.change(ctx, msg, it.walStart)
	}
	// Origin, Type (types are looked up by OID) and logical messages
	// carry nothing for events.
	return nil
}

// snapFor returns the snapshot progress records resuming at resume carry.
func (d *decoder) snapFor(resume pgoutput.LSN) *snapPos {
	if d.snap != nil && resume < d.snap.lastLSN() {
		return d.snap
	}
	return nil
}

func (d *decoder) relation(ctx context.Context, m *pgoutput.Relation) error {
	rel := &relation{table: tableName{Schema: m.Namespace, Name: m.Name}, captured: d.captured[m.ID]}
	rel.topic = d.env.topic(rel.table)
	for i, c := range m.Columns {
		typ, err := d.cat.typ(ctx, c.TypeOID)
		if err != nil {
			return fmt.Errorf("relation %s: %w", rel.table, err)
		}
		rel.cols = append(rel.cols, colDesc{name: c.Name, typ: typ})
		if c.Key() {
			rel.identity = append(rel.identity, i)
		}
	}
	if rel.captured {
		pk, err := d.cat.primaryKey(ctx, itoa(m.ID))
		if err != nil {
			return fmt.Errorf("relation %s: %w", rel.table, err)
		}
		for _, name := range pk {
			i := slices.IndexFunc(rel.cols, func(c colDesc) bool { return c.name == name })
			if i < 0 {
				return fmt.Errorf("relation %s: primary key column %s is not replicated", rel.table, name)
			}
			rel.key = append(rel.key, i)
		}
	}
	if d.rels == nil {
		d.rels = map[uint32]*relation{}
	}
	d.rels[m.ID] = rel
	return nil
}

func (d *decoder) change(ctx context.Context, msg pgoutput.Message, lsn pgoutput.LSN) error {
	var relID uint32
	switch m := msg.(type) {
	case *pgoutput.Insert:
		relID = m.RelationID
	case *pgoutput.Update:
		relID = m.RelationID
	case *pgoutput.Delete:
		relID = m.RelationID
	case *pgoutput.Truncate:
		for _, id := range m.RelationIDs {
			if err := d.truncate(ctx, id, lsn); err != nil {
				return err
			}
		}
		return nil
	}
	rel, ok := d.rels[relID]
	if !ok {
		return fmt.Errorf("decode at %s: a change to relation %d before its Relation message", lsn, relID)
	}
	if !rel.captured {
		return nil
	}
	switch m := msg.(type) {
	case *pgoutput.Insert:
		return d.row(ctx, rel, opCreate, nil, m.New, lsn)
	case *pgoutput.Update:
		if m.OldKind != 0 && rel.key != nil {
			oldKey, ok1 := keyText(rel.key, m.Old)
			newKey, ok2 := keyText(rel.key, m.New)
			if ok1 && ok2 && !slices.Equal(oldKey, newKey) {
				// The primary key changed: the old row is gone and a new
				// one exists, as consumers keyed by it must see it.
				if err := d.row(ctx, rel, opDelete, d.oldImage(rel, m.OldKind, m.Old), nil, lsn); err != nil {
					return err
				}
				return d.row(ctx, rel, opCreate, nil, m.New, lsn)
			}
		}
		var before pgoutput.Tuple
		if m.OldKind == pgoutput.OldFull {
			before = m.Old
		}
		return d.row(ctx, rel, opUpdate, before, m.New, lsn)
	case *pgoutput.Delete:
		return d.row(ctx, rel, opDelete, d.oldImage(rel, m.OldKind, m.Old), nil, lsn)
	}
	return nil
}

// oldImage returns the old row of an update or delete. An old key (not
// REPLICA IDENTITY FULL) has nulls in its other columns; they are marked
// unchanged so the before image lists the key columns only.
func (d *decoder) oldImage(rel *relation, kind byte, old pgoutput.Tuple) pgoutput.Tuple {
	if kind != pgoutput.OldKey {
		return old
	}
	img := make(pgoutput.Tuple, len(old))
	for i := range img {
		img[i] = pgoutput.Value{Kind: pgoutput.ValueUnchanged}
	}
	for _, i := range rel.identity {
		if i < len(old) {
			img[i] = old[i]
		}
	}
	return img
}

// row emits an event for a row change: before and/or after, keyed by the
// primary key of whichever image there is.
func (d *decoder) row(ctx context.Context, rel *relation, op byte, before, after pgoutput.Tuple, lsn pgoutput.LSN) error {
	image := after
	if image == nil {
		image = before
	}
	var key []byte
	var keyVals []string
	if rel.key != nil {
		var ok bool
		if keyVals, ok = keyText(rel.key, image); !ok {
			return fmt.Errorf("%s at %s: the event lacks primary key values (set REPLICA IDENTITY to the primary key or FULL)", rel.table, lsn)
		}
		var err error
		if key, err = appendKey(nil, rel.cols, rel.key, image); err != nil {
			return fmt.Errorf("%s at %s: %w", rel.table, lsn, err)
		}
	}
	if ok, err := d.delivers(ctx, rel.table, keyVals); err != nil || !ok {
		return err
	}
	var beforeJSON, afterJSON []byte
	var err error
	if before != nil {
		if beforeJSON, err = appendRow(nil, rel.cols, before, nil); err != nil {
			return fmt.Errorf("%s at %s: %w", rel.table, lsn, err)
		}
	}
	if after != nil {
		if afterJSON, err = appendRow(nil, rel.cols, after, before); err != nil {
			return fmt.Errorf("%s at %s: %w", rel.table, lsn, err)
		}
	}
	value := d.env.appendEvent(nil, op, beforeJSON, afterJSON, d.source(rel.table, lsn))
	d.emit(sdk.Record{Key: key, Value: value, Topic: rel.topic, Timestamp: d.begin.CommitTime})
	if op == opDelete && d.tombstones && key != nil {
		d.emit(sdk.Record{Key: key, Topic: rel.topic, Timestamp: d.begin.CommitTime})
	}
	return nil
}

func (d *decoder) truncate(ctx context.Context, relID uint32, lsn pgoutput.LSN) error {
	rel, ok := d.rels[relID]
	if !ok {
		return fmt.Errorf("decode at %s: truncate of relation %d before its Relation message", lsn, relID)
	}
	if !rel.captured {
		return nil
	}
	if ok, err := d.delivers(ctx, rel.table, nil); err != nil || !ok {
		return err
	}
	value := d.env.appendEvent(nil, opTruncate, nil, nil, d.source(rel.table, lsn))
	d.emit(sdk.Record{Value: value, Topic: rel.topic, Timestamp: d.begin.CommitTime})
	return nil
}

// delivers applies the snapshot filter: false for a change the snapshot
// rows already reflect.
func (d *decoder) delivers(ctx context.Context, t tableName, key []string) (bool, error) {
	if d.snap == nil {
		return true, nil
	}
	return d.snap.delivers(ctx, t, key, d.begin.FinalLSN, d.after)
}

func (d *decoder) source(t tableName, lsn pgoutput.LSN) sourceInfo {
	return sourceInfo{table: t, txID: d.begin.Xid, lsn: lsn, tsMs: d.begin.CommitTime.UnixMilli()}
}

// emit numbers a record of the open transaction, drops it when it was
// delivered before a restart, and holds it back (releasing the one held).
func (d *decoder) emit(rec sdk.Record) {
	d.index++
	if d.skipAll || d.index <= d.skipN {
		return
	}
	p := position{Resume: uint64(d.resume), Tx: uint64(d.begin.FinalLSN), N: d.index, Snap: d.snapFor(d.resume)}
	rec.Position = p.encode()
	if d.held != nil {
		d.out = append(d.out, *d.held)
	}
	d.held = &rec
}

// heartbeat returns a record whose position moves the resume point to the
// newest keepalive's end of WAL, when that is ahead and no transaction is
// open: committing it lets the slot advance while no captured table
// changes.
func (d *decoder) heartbeat(topic string, now time.Time) (sdk.Record, bool) {
	if d.begin != nil || d.held != nil || d.walEnd <= d.resume {
		return sdk.Record{}, false
	}
	d.resume = d.walEnd
	key := pgtypes.AppendString([]byte(`{"prefix":`), []byte(d.env.prefix))
	key = append(key, '}')
	value := fmt.Appendf(nil, `{"ts_ms":%d,"lsn":%d}`, now.UnixMilli(), uint64(d.resume))
	return sdk.Record{Key: key, Value: value, Topic: topic, Timestamp: now,
		Position: position{Resume: uint64(d.resume), Snap: d.snapFor(d.resume)}.encode()}, true
}
