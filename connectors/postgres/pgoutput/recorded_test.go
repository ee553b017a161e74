package pgoutput

import (
	"slices"
	"strings"
	"testing"
)

// want lists, per scenario of record_test.go, the messages its SQL implies,
// as rendered by describe.
var want = map[string][]string{
	"basic": {
		"BEGIN", "RELATION public.t identity=d [id:23:key name:25 n:1700]", `INSERT ("1","alice","1.50")`, "COMMIT",
		// NULL and the empty string stay apart; numeric keeps its scale.
		"BEGIN", `INSERT ("2",null,null)`, `INSERT ("3","","0.00")`, "COMMIT",
		"BEGIN", `UPDATE ("1","bob","1.50")`, "COMMIT",
		// Default identity: the old key only, other columns null.
		"BEGIN", `DELETE old(K)=("2",null,null)`, "COMMIT",
	},
	"identity": {
		// REPLICA IDENTITY FULL flags every column as key.
		"BEGIN", "RELATION public.f identity=f [id:23:key v:25:key]", `INSERT ("1","x")`,
		"RELATION public.k identity=d [a:23:key b:23:key v:25]", `INSERT ("1","2","y")`, "COMMIT",
		"BEGIN", `UPDATE old(O)=("1","x") ("1","z")`, "COMMIT",
		// A changed key sends the old key.
		"BEGIN", `UPDATE old(K)=("1","2",null) ("1","3","y")`, "COMMIT",
		"BEGIN", `DELETE old(O)=("1","z")`, `DELETE old(K)=("1","3",null)`, "COMMIT",
	},
	"toast": {
		"BEGIN", "RELATION public.big identity=d [id:23:key n:23 doc:25]", `INSERT ("1","0","abcdefgh...(8000 bytes)")`, "COMMIT",
		// The out-of-line value did not change and is not sent.
		"BEGIN", `UPDATE ("1","1",unchanged)`, "COMMIT",
	},
	"schema": {
		"BEGIN", "RELATION public.s identity=d [id:23:key a:25]", `INSERT ("1","one")`, "COMMIT",
		// ADD COLUMN: the enum's Type message, then the new Relation.
		"BEGIN", "TYPE public.mood", "RELATION public.s identity=d [id:23:key a:25 m:user]", `INSERT ("2","two","happy")`, "COMMIT",
		// DROP COLUMN: the Relation without it.
		"BEGIN", "TYPE public.mood", "RELATION public.s identity=d [id:23:key m:user]", `UPDATE ("1","ok")`, "COMMIT",
		"BEGIN", "RELATION public.u identity=d [id:23:key]", `INSERT ("1")`,
		"TYPE public.mood", "RELATION public.s identity=d [id:23:key m:user]", "RELATION public.u identity=d [id:23:key]",
		"TRUNCATE options=2 relations=2", "COMMIT",
		"BEGIN", `MESSAGE tributary "hello" flags=1`, "COMMIT",
	},
}

// TestRecordedStreams decodes real replication traffic (see record_test.go)
// and checks every message against what the scenario's SQL implies, and
// the LSN bookkeeping a consumer relies on.
func TestRecordedStreams(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var got []string
			var begin *Begin
			var lastEnd LSN
			for i, p := range readStream(t, sc.name) {
				x, err := ParseStreamMessage(p)
				if err != nil {
					t.Fatalf("payload %d: %v", i, err)
				}
				xl, ok := x.(*XLogData)
				if !ok {
					t.Fatalf("payload %d is %T", i, x)
				}
				m, err := Parse(xl.Data)
				if err != nil {
					t.Fatalf("payload %d: %v", i, err)
				}
				got = append(got, describe(m))
				switch m := m.(type) {
				case *Begin:
					begin = m
					if m.FinalLSN <= lastEnd {
						t.Errorf("transaction commits at %s, before the previous one ended at %s", m.FinalLSN, lastEnd)
					}
				case *Commit:
					if begin == nil || m.CommitLSN != begin.FinalLSN || !m.CommitTime.Equal(begin.CommitTime) {
						t.Errorf("commit %+v does not match begin %+v", m, begin)
					}
					if m.EndLSN <= m.CommitLSN {
						t.Errorf("commit ends at %s, not after its start %s", m.EndLSN, m.CommitLSN)
					}
					lastEnd = m.EndLSN
				case *Relation:
					if m.ID == 0 {
						t.Errorf("relation %s has id 0", m.Name)
					}
				}
			}
			if !slices.Equal(got, want[sc.name]) {
				t.Errorf("decoded:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want[sc.name], "\n"))
			}
		})
	}
}
