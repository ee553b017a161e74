package cdccheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/sdk"
)

// row is a replayed row.
type row struct {
	v       int64
	payload *string
}

// Checker replays committed events of one table's topic.
type Checker struct {
	Topic string

	rows  map[int]row
	lastV map[int]int64    // per id, the v of its newest event
	seen  map[eventID]bool // streamed events
	read  map[int]bool     // ids of snapshot rows
	// Counts of events by op, and tombstones.
	Counts     map[string]int
	Tombstones int
}

type eventID struct {
	op byte
	id int
	v  int64
}

// NewChecker checks the events of topic.
func NewChecker(topic string) *Checker {
	return &Checker{Topic: topic, rows: map[int]row{}, lastV: map[int]int64{}, seen: map[eventID]bool{}, read: map[int]bool{}, Counts: map[string]int{}}
}

type image struct {
	ID      *int    `json:"id"`
	V       *int64  `json:"v"`
	Payload *string `json:"payload"`
}

// Add replays one committed record; records of other topics are ignored.
// It fails on a duplicate or out-of-order event.
func (c *Checker) Add(r sdk.Record) error {
	if r.Topic != c.Topic {
		return nil
	}
	if r.Value == nil {
		c.Tombstones++
		return nil
	}
	var ev struct {
		Before *image `json:"before"`
		After  *image `json:"after"`
		Op     string `json:"op"`
	}
	if err := json.Unmarshal(r.Value, &ev); err != nil {
		return fmt.Errorf("event %s: %w", r.Value, err)
	}
	c.Counts[ev.Op]++
	img := ev.After
	if ev.Op == "d" {
		img = ev.Before
	}
	if img == nil || img.ID == nil || img.V == nil {
		return fmt.Errorf("event %s lacks id or v", r.Value)
	}
	id, v := *img.ID, *img.V
	var key struct{ ID int }
	if err := json.Unmarshal(r.Key, &key); err != nil || key.ID != id {
		return fmt.Errorf("event %s has key %s", r.Value, r.Key)
	}
	last, known := c.lastV[id]
	switch ev.Op {
	case "r", "c", "u":
		if ev.Op == "r" {
			if c.read[id] {
				return fmt.Errorf("event %s: row %d read twice by the snapshot", r.Value, id)
			}
			c.read[id] = true
		}
		if known && v <= last {
			return fmt.Errorf("event %s: v %d after v %d of the same row: a duplicate or out of order", r.Value, v, last)
		}
		c.rows[id] = row{v: v, payload: img.Payload}
	case "d":
		if known && v != last {
			return fmt.Errorf("event %s deletes row %d at v %d, its newest event had v %d", r.Value, id, v, last)
		}
		if !known && ev.Before == nil {
			return fmt.Errorf("delete %s without a before image", r.Value)
		}
		delete(c.rows, id)
	default:
		return fmt.Errorf("event %s: unexpected op", r.Value)
	}
	c.lastV[id] = v
	if ev.Op != "r" {
		e := eventID{op: ev.Op[0], id: id, v: v}
		if c.seen[e] {
			return fmt.Errorf("event %s delivered twice", r.Value)
		}
		c.seen[e] = true
	}
	return nil
}

// VerifyTable compares the replayed rows with SELECT.
func (c *Checker) VerifyTable(conn *pgconn.PgConn, table string) error {
	res := conn.ExecParams(context.Background(), "SELECT id, v, payload FROM "+table+" ORDER BY id", nil, nil, nil, nil).Read()
	if res.Err != nil {
		return res.Err
	}
	var errs []error
	live := map[int]bool{}
	for _, r := range res.Rows {
		id, _ := strconv.Atoi(string(r[0]))
		v, _ := strconv.ParseInt(string(r[1]), 10, 64)
		live[id] = true
		got, ok := c.rows[id]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("row %d (v %d) is in the table, not in the replayed events", id, v))
		case got.v != v || (got.payload == nil) != (r[2] == nil) || (got.payload != nil && *got.payload != string(r[2])):
			errs = append(errs, fmt.Errorf("row %d: replayed v %d, table v %d", id, got.v, v))
		}
	}
	for id, r := range c.rows {
		if !live[id] {
			errs = append(errs, fmt.Errorf("row %d (v %d) is in the replayed events, not in the table", id, r.v))
		}
	}
	sortErrs(errs)
	return joinFirst(errs, 10)
}

// VerifyOps checks that every change the writer committed with a sequence
// number above after was delivered, and that every delivered change was
// committed by the writer. Rows with negative ids are markers a test
// writes itself, not the writer's.
func (c *Checker) VerifyOps(ops []Op, after int64) error {
	logged := map[eventID]bool{}
	var errs []error
	for _, op := range ops {
		e := eventID{op: op.Kind, id: op.ID, v: op.V}
		logged[e] = true
		if op.Seq > after && !c.seen[e] {
			errs = append(errs, fmt.Errorf("change %d (%c row %d v %d) was not delivered", op.Seq, op.Kind, op.ID, op.V))
		}
	}
	for e := range c.seen {
		if !logged[e] && e.id >= 0 {
			errs = append(errs, fmt.Errorf("delivered %c row %d v %d, which the writer never made", e.op, e.id, e.v))
		}
	}
	sortErrs(errs)
	return joinFirst(errs, 10)
}

// Rows returns the number of replayed live rows.
func (c *Checker) Rows() int { return len(c.rows) }

func sortErrs(errs []error) {
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}

func joinFirst(errs []error, n int) error {
	if len(errs) > n {
		errs = append(errs[:n], fmt.Errorf("... and %d more", len(errs)-n))
	}
	return errors.Join(errs...)
}
