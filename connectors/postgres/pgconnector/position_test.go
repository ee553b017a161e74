package pgconnector

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connectors/postgres/pgoutput"
	"github.com/tributary-io/tributary/sdk"
)

func TestPositionEncoding(t *testing.T) {
	cases := []position{
		{Resume: 100},
		{Resume: 100, Tx: 200, N: 3},
		{Resume: 5, Snap: &snapPos{Tables: []tableName{{"public", "a"}, {"s", "b.c"}}, Attempts: []attempt{{LSN: 5}, {LSN: 9, Table: 1, Key: []string{"7", "x"}}},
			Table: 1, Key: []string{"8", "y"}}},
	}
	for _, p := range cases {
		got, err := decodePosition(p.encode())
		p.V = positionVersion
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("decode(encode(%+v)) = %+v, %v", p, got, err)
		}
	}
	bad := []struct{ pos, err string }{
		{`{"v":2,"r":1}`, "format version 2"},
		{`{"v":1,"r":1,"s":{"t":[],"a":[],"i":0}}`, "inconsistent"},
		{`{"v":1,"r":1,"s":{"t":[["a","b"]],"a":[{"l":1,"i":0}],"i":5}}`, "inconsistent"},
		{`[]`, "cannot unmarshal"},
	}
	for _, b := range bad {
		if _, err := decodePosition(sdk.Position(b.pos)); err == nil || !strings.Contains(err.Error(), b.err) {
			t.Errorf("decodePosition(%s) error = %v, want %q", b.pos, err, b.err)
		}
	}
}

// TestSnapshotFilter checks which attempt owns a change, with integer keys
// compared numerically (as the server would).
func TestSnapshotFilter(t *testing.T) {
	a, b, c := tableName{"public", "a"}, tableName{"public", "b"}, tableName{"public", "c"}
	// Attempt 1 (LSN 100) read a from the start up to key 10; attempt 2
	// (LSN 200) read a after 10 and b up to key 5; attempt 3 (LSN 300)
	// read b after 5 and c (keyless).
	s := &snapPos{Tables: []tableName{a, b, c}, Done: true, Table: 3, Attempts: []attempt{
		{LSN: 100, Table: 0}, {LSN: 200, Table: 0, Key: []string{"10"}}, {LSN: 300, Table: 1, Key: []string{"5"}}}}
	after := func(_ context.Context, _ tableName, x, y []string) (bool, error) {
		i, _ := strconv.Atoi(x[0])
		j, _ := strconv.Atoi(y[0])
		return i > j, nil
	}
	cases := []struct {
		table  tableName
		key    []string
		commit pgoutput.LSN
		want   bool
	}{
		{a, []string{"3"}, 150, true},   // read at 100: later changes count
		{a, []string{"10"}, 150, true},  // the boundary key belongs to attempt 1
		{a, []string{"11"}, 150, false}, // read at 200: already in the row
		{a, []string{"11"}, 200, true},
		{b, []string{"5"}, 250, true},  // read by attempt 2
		{b, []string{"6"}, 250, false}, // read by attempt 3 at 300
		{c, nil, 299, false},
		{c, nil, 300, true},
		{tableName{"public", "new"}, []string{"1"}, 101, true}, // never snapshotted
		{a, []string{"11"}, 300, true},                         // past every attempt
	}
	for _, tc := range cases {
		got, err := s.delivers(context.Background(), tc.table, tc.key, tc.commit, after)
		if err != nil || got != tc.want {
			t.Errorf("delivers(%s %v at %d) = %v, %v; want %v", tc.table, tc.key, tc.commit, got, err, tc.want)
		}
	}
	if s.lastLSN() != 300 {
		t.Errorf("lastLSN = %d", s.lastLSN())
	}
	clone := s.clone()
	clone.Attempts[0].LSN = 1
	if s.Attempts[0].LSN != 100 {
		t.Error("clone shares attempts")
	}
}

func TestTempSlotName(t *testing.T) {
	for _, slot := range []string{"tributary", strings.Repeat("x", 63)} {
		n := tempSlotName(slot)
		if err := pgoutput.CheckSlotName(n); err != nil || n == tempSlotName(slot) {
			t.Errorf("tempSlotName(%q) = %q: %v", slot, n, err)
		}
	}
}

func TestConnValueQuoting(t *testing.T) {
	for in, want := range map[string]string{"plain": "'plain'", `it's`: `'it\'s'`, `back\slash`: `'back\\slash'`, "": "''"} {
		if got := quoteConnValue(in); got != want {
			t.Errorf("quoteConnValue(%q) = %s, want %s", in, got, want)
		}
	}
}
