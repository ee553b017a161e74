package pgconnector

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tributary-io/tributary/connectors/postgres/pgoutput"
	"github.com/tributary-io/tributary/sdk"
)

// positionVersion is the format version of encoded positions.
const positionVersion = 1

// position is where the source resumes. Encoded as JSON in every record's
// sdk.Position.
//
// While streaming, Resume is the LSN to start replication from: every
// transaction that committed before it was delivered in full. A record in
// the middle of a transaction also names that transaction (Tx, its commit
// LSN) and how many of its records were delivered (N), so a restart skips
// those and continues with the next record of it.
//
// While snapshotting, or while the stream is still within the range of an
// interrupted snapshot, Snap says which rows were read by which snapshot,
// so the stream delivers exactly the changes the snapshot rows do not
// already reflect (see snapPos).
type position struct {
	V      int      `json:"v"`
	Resume uint64   `json:"r"`
	Tx     uint64   `json:"tx,omitempty"`
	N      int      `json:"n,omitempty"`
	Snap   *snapPos `json:"s,omitempty"`
}

// snapPos is snapshot progress.
//
// A snapshot reads Tables in order, each by primary key order. An attempt
// is one exported snapshot, taken at a slot's consistent point LSN: it
// reads from its start (table index, exclusive key; nil key: the table's
// beginning) to the end, unless the plugin dies first; the next attempt
// then starts where the last committed row left off, with a new snapshot.
//
// So every (table, key) belongs to exactly one attempt: the last one that
// started before it. A change to that row, committed at LSN c, is already
// in the snapshot rows iff c < that attempt's LSN; the stream, which
// starts at the first attempt's LSN, delivers it only otherwise. Once the
// stream passes the last attempt's LSN, every change is delivered and Snap
// is dropped.
//
// A table without a primary key cannot be resumed by key: an attempt that
// starts inside it reads it again from its beginning (its rows already
// delivered are delivered again).
type snapPos struct {
	Tables   []tableName `json:"t"`
	Attempts []attempt   `json:"a"`
	// Done says every table was read.
	Done bool `json:"d,omitempty"`
	// Table and Key are the last row delivered: the table's index and its
	// primary key values (text form). Key is nil before the table's first
	// row, and for tables without a primary key.
	Table int      `json:"i"`
	Key   []string `json:"k,omitempty"`
}

// attempt is one snapshot: its consistent point and where it started.
type attempt struct {
	LSN   uint64   `json:"l"`
	Table int      `json:"i"`
	Key   []string `json:"k,omitempty"`
}

// MarshalJSON writes a table name as a two-element array.
func (t tableName) MarshalJSON() ([]byte, error) { return json.Marshal([2]string{t.Schema, t.Name}) }

// UnmarshalJSON reads a two-element array.
func (t *tableName) UnmarshalJSON(b []byte) error {
	var a [2]string
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	t.Schema, t.Name = a[0], a[1]
	return nil
}

func (p position) encode() sdk.Position {
	p.V = positionVersion
	b, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("pgconnector: encode position: %v", err)) // plain structs always encode
	}
	return b
}

func decodePosition(b sdk.Position) (position, error) {
	var p position
	if err := json.Unmarshal(b, &p); err != nil {
		return position{}, fmt.Errorf("position %q: %w", b, err)
	}
	if p.V != positionVersion {
		return position{}, fmt.Errorf("position %q: format version %d, this connector reads %d", b, p.V, positionVersion)
	}
	if s := p.Snap; s != nil {
		if len(s.Attempts) == 0 || s.Table < 0 || s.Table > len(s.Tables) {
			return position{}, fmt.Errorf("position %q: inconsistent snapshot progress", b)
		}
	}
	return p, nil
}

// lastLSN is the LSN of the newest attempt: from it on, the stream
// delivers every change.
func (s *snapPos) lastLSN() pgoutput.LSN {
	var l uint64
	for _, a := range s.Attempts {
		l = max(l, a.LSN)
	}
	return pgoutput.LSN(l)
}

// tableIndex returns t's index in Tables, or -1.
func (s *snapPos) tableIndex(t tableName) int {
	for i, x := range s.Tables {
		if x == t {
			return i
		}
	}
	return -1
}

// keyAfter reports whether key a sorts after key b in table t, as the
// table's primary key orders them.
type keyAfter func(ctx context.Context, t tableName, a, b []string) (bool, error)

// delivers reports whether a change to the row with key in table t,
// committed at commit, must be delivered: whether the attempt that read
// that row's range did so before commit.
func (s *snapPos) delivers(ctx context.Context, t tableName, key []string, commit pgoutput.LSN, after keyAfter) (bool, error) {
	if commit >= s.lastLSN() {
		return true, nil
	}
	idx := s.tableIndex(t)
	if idx < 0 {
		return true, nil // not snapshotted: every change counts
	}
	var owner *attempt
	for i := range s.Attempts {
		a := &s.Attempts[i]
		starts := a.Table < idx || (a.Table == idx && a.Key == nil)
		if a.Table == idx && a.Key != nil && key != nil {
			ok, err := after(ctx, t, key, a.Key)
			if err != nil {
				return false, err
			}
			starts = ok
		}
		if starts {
			owner = a // attempts start in read order: the last wins
		}
	}
	if owner == nil {
		return true, nil
	}
	return commit >= pgoutput.LSN(owner.LSN), nil
}

// clone returns a deep copy, so records keep the progress of their time.
func (s *snapPos) clone() *snapPos {
	if s == nil {
		return nil
	}
	c := *s
	c.Attempts = append([]attempt(nil), s.Attempts...)
	c.Key = append([]string(nil), s.Key...)
	if s.Key == nil {
		c.Key = nil
	}
	return &c
}
