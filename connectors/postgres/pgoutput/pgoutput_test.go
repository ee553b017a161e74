package pgoutput

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLSN(t *testing.T) {
	cases := []struct {
		text string
		lsn  LSN
		err  string
	}{
		{text: "0/0", lsn: 0},
		{text: "16/B374D848", lsn: 0x16_B374D848},
		{text: "FFFFFFFF/FFFFFFFF", lsn: ^LSN(0)},
		{text: "0/1", lsn: 1},
		{text: "16B374D848", err: "no slash"},
		{text: "1/G", err: "invalid syntax"},
		{text: "100000000/0", err: "out of range"},
	}
	for _, c := range cases {
		got, err := ParseLSN(c.text)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseLSN(%q) error = %v, want %q", c.text, err, c.err)
			}
			continue
		}
		if err != nil || got != c.lsn {
			t.Errorf("ParseLSN(%q) = %v, %v; want %v", c.text, got, err, c.lsn)
		}
		if s := c.lsn.String(); s != c.text {
			t.Errorf("%d.String() = %q, want %q", uint64(c.lsn), s, c.text)
		}
	}
}

var when = time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)

// messages holds one of each message, with the edge values a decoder gets
// wrong: empty strings and values, nulls, unchanged values, many columns.
var messages = []Message{
	&Begin{FinalLSN: 0x1_00000010, CommitTime: when, Xid: 4000000000},
	&Commit{Flags: 0, CommitLSN: 0x1_00000010, EndLSN: 0x1_00000040, CommitTime: when},
	&Origin{CommitLSN: 77, Name: "upstream"},
	&Relation{ID: 16390, Namespace: "public", Name: "t", ReplicaIdentity: IdentityDefault, Columns: []Column{
		{Flags: 1, Name: "id", TypeOID: 23, TypeMod: -1}, {Name: "n", TypeOID: 1700, TypeMod: 655366}, {Name: "", TypeOID: 25, TypeMod: -1}}},
	&Relation{ID: 1, Namespace: "", Name: "no columns", ReplicaIdentity: IdentityNothing, Columns: []Column{}},
	&DataType{OID: 16400, Namespace: "public", Name: "mood"},
	&Insert{RelationID: 16390, New: Tuple{{Kind: ValueText, Data: []byte("1")}, {Kind: ValueNull}, {Kind: ValueText, Data: []byte{}}}},
	&Update{RelationID: 16390, New: Tuple{{Kind: ValueText, Data: []byte("1")}, {Kind: ValueUnchanged}}},
	&Update{RelationID: 16390, OldKind: OldFull, Old: Tuple{{Kind: ValueText, Data: []byte("a\x00b")}}, New: Tuple{{Kind: ValueBinary, Data: []byte{0, 1}}}},
	&Update{RelationID: 16390, OldKind: OldKey, Old: Tuple{{Kind: ValueText, Data: []byte("1")}, {Kind: ValueNull}}, New: Tuple{}},
	&Delete{RelationID: 16390, OldKind: OldKey, Old: Tuple{{Kind: ValueText, Data: []byte("7")}}},
	&Delete{RelationID: 16390, OldKind: OldFull, Old: Tuple{{Kind: ValueNull}}},
	&Truncate{Options: TruncateCascade | TruncateRestartIdentity, RelationIDs: []uint32{1, 2, 3}},
	&LogicalMessage{Flags: 1, LSN: 99, Prefix: "p", Content: []byte("hello")},
}

func TestRoundTrip(t *testing.T) {
	for _, m := range messages {
		b := encode(m)
		got, err := Parse(b)
		if err != nil {
			t.Errorf("Parse(%s): %v", describe(m), err)
			continue
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("Parse(encode(%#v)) = %#v", m, got)
		}
	}
}

func TestMalformed(t *testing.T) {
	insert := encode(messages[6])
	cases := []struct {
		name string
		data []byte
		err  string
	}{
		{"empty", nil, "empty message"},
		{"unknown type", []byte("S\x00\x00\x00\x01"), "unknown message type 'S'"},
		{"short begin", encode(messages[0])[:5], "begin final LSN"},
		{"trailing bytes", append(encode(messages[0]), 0), "1 trailing bytes"},
		{"unterminated string", []byte("O\x00\x00\x00\x00\x00\x00\x00\x01abc"), "no terminating NUL"},
		{"insert without N", append([]byte{'I', 0, 0, 0, 1, 'K'}, insert[6:]...), "tuple kind 'K'"},
		{"truncated value", insert[:len(insert)-1], "insert value length"},
		{"value longer than message", append(append([]byte{}, insert[:len(insert)-4]...), 0xff, 0xff, 0xff, 0x00), "insert value"},
		{"negative value length", []byte{'I', 0, 0, 0, 1, 'N', 0, 1, 't', 0xff, 0xff, 0xff, 0xff}, "need -1 bytes"},
		{"unknown value kind", []byte{'I', 0, 0, 0, 1, 'N', 0, 1, 'x'}, "unknown value kind 'x'"},
		{"negative column count", []byte{'I', 0, 0, 0, 1, 'N', 0xff, 0xff}, "negative column count"},
		{"huge column count", []byte{'R', 0, 0, 0, 1, 'p', 0, 't', 0, 'd', 0x7f, 0xff}, "column flags"},
		{"delete kind", []byte{'D', 0, 0, 0, 1, 'N', 0, 0}, "want 'K' or 'O'"},
		{"truncate count", []byte{'T', 0, 0, 0, 2, 0, 0, 0, 0, 1}, "2 relations in 4 bytes"},
		{"update new kind", []byte{'U', 0, 0, 0, 1, 'X', 0, 0}, "tuple kind 'X'"},
	}
	for _, c := range cases {
		_, err := Parse(c.data)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: Parse error = %v, want one containing %q", c.name, err, c.err)
		}
	}
}

func TestStreamMessages(t *testing.T) {
	xlog := []byte{'w', 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3}
	xlog = append(xlog, PGMicrosBytes(when)...)
	xlog = append(xlog, 'B', 1, 2)
	got, err := ParseStreamMessage(xlog)
	if err != nil {
		t.Fatal(err)
	}
	x := got.(*XLogData)
	if x.WALStart != 0x1_00000002 || x.WALEnd != 0x2_00000003 || !x.ServerTime.Equal(when) || !bytes.Equal(x.Data, []byte{'B', 1, 2}) {
		t.Errorf("XLogData = %+v", x)
	}
	ka := append(append([]byte{'k', 0, 0, 0, 0, 0, 0, 0, 9}, PGMicrosBytes(when)...), 1)
	got, err = ParseStreamMessage(ka)
	if err != nil {
		t.Fatal(err)
	}
	if k := got.(*Keepalive); k.WALEnd != 9 || !k.ReplyRequested || !k.ServerTime.Equal(when) {
		t.Errorf("keepalive = %+v", k)
	}
	for _, bad := range [][]byte{nil, {'w', 0}, ka[:len(ka)-1], append(ka, 0), {'x'}} {
		if _, err := ParseStreamMessage(bad); err == nil {
			t.Errorf("ParseStreamMessage(%q) accepted it", bad)
		}
	}
	status := AppendStandbyStatus(nil, StandbyStatus{Written: 1, Flushed: 2, Applied: 3, ClientTime: when, ReplyRequested: true})
	wantStatus := append([]byte{'r', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3}, PGMicrosBytes(when)...)
	wantStatus = append(wantStatus, 1)
	if !bytes.Equal(status, wantStatus) {
		t.Errorf("status update = %x, want %x", status, wantStatus)
	}
}

// PGMicrosBytes is a timestamp as it travels: big-endian microseconds since 2000.
func PGMicrosBytes(t time.Time) []byte {
	us := uint64(PGMicros(t))
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(us)
		us >>= 8
	}
	return b
}

func TestPGTime(t *testing.T) {
	if got := PGTime(0); !got.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("PGTime(0) = %v", got)
	}
	if got := PGTime(PGMicros(when)); !got.Equal(when) {
		t.Errorf("PGTime(PGMicros(%v)) = %v", when, got)
	}
}

func TestCheckSlotName(t *testing.T) {
	for name, ok := range map[string]bool{"tributary": true, "a_1": true, "": false, "Upper": false, "with-dash": false, strings.Repeat("a", 64): false, strings.Repeat("a", 63): true} {
		if err := CheckSlotName(name); (err == nil) != ok {
			t.Errorf("CheckSlotName(%q) = %v", name, err)
		}
	}
}

func TestPluginArgs(t *testing.T) {
	got := PluginArgs("a", "it's")
	want := []string{"proto_version '1'", "publication_names 'a,it''s'"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PluginArgs = %q, want %q", got, want)
	}
}
