package pgoutput

import (
	"fmt"
	"time"
)

// MessageType is the first byte of a pgoutput message.
type MessageType byte

// The pgoutput message types of protocol version 1.
const (
	TypeBegin    MessageType = 'B'
	TypeCommit   MessageType = 'C'
	TypeOrigin   MessageType = 'O'
	TypeRelation MessageType = 'R'
	TypeDataType MessageType = 'Y'
	TypeInsert   MessageType = 'I'
	TypeUpdate   MessageType = 'U'
	TypeDelete   MessageType = 'D'
	TypeTruncate MessageType = 'T'
	TypeLogical  MessageType = 'M'
)

// Message is one decoded pgoutput message.
type Message interface {
	// Type returns the message's type byte.
	Type() MessageType
}

// Begin starts a transaction. Its changes follow, then a Commit.
type Begin struct {
	// FinalLSN is the LSN of the transaction's commit record.
	FinalLSN LSN
	// CommitTime is when the transaction committed.
	CommitTime time.Time
	// Xid is the transaction id.
	Xid uint32
}

// Commit ends a transaction.
type Commit struct {
	Flags uint8
	// CommitLSN is the LSN of the commit record (Begin.FinalLSN).
	CommitLSN LSN
	// EndLSN is the end of the commit record: streaming from it resumes
	// with the next transaction.
	EndLSN     LSN
	CommitTime time.Time
}

// Origin names the replication origin of a transaction replayed from
// elsewhere.
type Origin struct {
	CommitLSN LSN
	Name      string
}

// Replica identity settings of a relation (pg_class.relreplident).
const (
	IdentityDefault byte = 'd' // the primary key
	IdentityNothing byte = 'n'
	IdentityFull    byte = 'f' // every column
	IdentityIndex   byte = 'i' // a chosen unique index
)

// Relation describes a table. It is sent before the first change to the
// table in a session and again whenever its definition changed (a column
// added, dropped or retyped), so it always describes the changes after it.
type Relation struct {
	ID              uint32
	Namespace       string
	Name            string
	ReplicaIdentity byte
	Columns         []Column
}

// Column is one column of a Relation.
type Column struct {
	// Flags has bit 1 set for columns of the replica identity key.
	Flags   uint8
	Name    string
	TypeOID uint32
	TypeMod int32
}

// Key reports whether the column is part of the replica identity key.
func (c Column) Key() bool { return c.Flags&1 != 0 }

// DataType names a data type that is not built in (an enum, a domain, a
// type of an extension) before a Relation that uses it.
type DataType struct {
	OID       uint32
	Namespace string
	Name      string
}

// Kinds of old tuples in Update and Delete.
const (
	// OldKey: the old tuple holds the replica identity key columns only
	// (others are null).
	OldKey byte = 'K'
	// OldFull: the old tuple is the whole old row (REPLICA IDENTITY FULL).
	OldFull byte = 'O'
)

// Insert is a new row.
type Insert struct {
	RelationID uint32
	New        Tuple
}

// Update is a changed row. Old is set (OldKind OldKey or OldFull) when the
// table has REPLICA IDENTITY FULL, or when the key changed.
type Update struct {
	RelationID uint32
	OldKind    byte // 0, OldKey or OldFull
	Old        Tuple
	New        Tuple
}

// Delete is a removed row, identified by its old key or whole old row.
type Delete struct {
	RelationID uint32
	OldKind    byte // OldKey or OldFull
	Old        Tuple
}

// Truncate options.
const (
	TruncateCascade         uint8 = 1
	TruncateRestartIdentity uint8 = 2
)

// Truncate empties tables.
type Truncate struct {
	Options     uint8
	RelationIDs []uint32
}

// LogicalMessage is a message written with pg_logical_emit_message (sent
// only when the messages option is on).
type LogicalMessage struct {
	Flags   uint8 // 1: transactional
	LSN     LSN
	Prefix  string
	Content []byte
}

func (*Begin) Type() MessageType          { return TypeBegin }
func (*Commit) Type() MessageType         { return TypeCommit }
func (*Origin) Type() MessageType         { return TypeOrigin }
func (*Relation) Type() MessageType       { return TypeRelation }
func (*DataType) Type() MessageType       { return TypeDataType }
func (*Insert) Type() MessageType         { return TypeInsert }
func (*Update) Type() MessageType         { return TypeUpdate }
func (*Delete) Type() MessageType         { return TypeDelete }
func (*Truncate) Type() MessageType       { return TypeTruncate }
func (*LogicalMessage) Type() MessageType { return TypeLogical }

// Parse decodes one pgoutput message (the Data of an XLogData). Column
// values and message contents alias data.
func Parse(data []byte) (Message, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("pgoutput: empty message")
	}
	r := &reader{b: data, off: 1}
	t := MessageType(data[0])
	var m Message
	switch t {
	case TypeBegin:
		m = &Begin{FinalLSN: r.lsn("begin final LSN"), CommitTime: r.time("begin commit time"), Xid: r.u32("begin xid")}
	case TypeCommit:
		m = &Commit{Flags: r.u8("commit flags"), CommitLSN: r.lsn("commit LSN"), EndLSN: r.lsn("commit end LSN"), CommitTime: r.time("commit time")}
	case TypeOrigin:
		m = &Origin{CommitLSN: r.lsn("origin LSN"), Name: r.cstring("origin name")}
	case TypeRelation:
		m = parseRelation(r)
	case TypeDataType:
		m = &DataType{OID: r.u32("type OID"), Namespace: r.cstring("type namespace"), Name: r.cstring("type name")}
	case TypeInsert:
		ins := &Insert{RelationID: r.u32("insert relation")}
		if k := r.u8("insert tuple kind"); r.err == nil && k != 'N' {
			return nil, fmt.Errorf("pgoutput: insert: tuple kind %q, want 'N'", k)
		}
		ins.New = parseTuple(r, "insert")
		m = ins
	case TypeUpdate:
		up := &Update{RelationID: r.u32("update relation")}
		k := r.u8("update tuple kind")
		if k == OldKey || k == OldFull {
			up.OldKind, up.Old = k, parseTuple(r, "update old")
			k = r.u8("update tuple kind")
		}
		if r.err == nil && k != 'N' {
			return nil, fmt.Errorf("pgoutput: update: tuple kind %q, want 'N'", k)
		}
		up.New = parseTuple(r, "update new")
		m = up
	case TypeDelete:
		del := &Delete{RelationID: r.u32("delete relation"), OldKind: r.u8("delete tuple kind")}
		if r.err == nil && del.OldKind != OldKey && del.OldKind != OldFull {
			return nil, fmt.Errorf("pgoutput: delete: tuple kind %q, want 'K' or 'O'", del.OldKind)
		}
		del.Old = parseTuple(r, "delete")
		m = del
	case TypeTruncate:
		n := r.u32("truncate relation count")
		tr := &Truncate{Options: r.u8("truncate options")}
		if r.err == nil && uint64(n)*4 != uint64(len(r.b)-r.off) {
			return nil, fmt.Errorf("pgoutput: truncate: %d relations in %d bytes", n, len(r.b)-r.off)
		}
		for i := uint32(0); i < n && r.err == nil; i++ {
			tr.RelationIDs = append(tr.RelationIDs, r.u32("truncate relation"))
		}
		m = tr
	case TypeLogical:
		lm := &LogicalMessage{Flags: r.u8("message flags"), LSN: r.lsn("message LSN"), Prefix: r.cstring("message prefix")}
		lm.Content = r.take("message content", int(int32(r.u32("message length"))))
		m = lm
	default:
		return nil, fmt.Errorf("pgoutput: unknown message type %q (byte 0x%02x); only protocol version 1 without streaming is supported", byte(t), byte(t))
	}
	if err := r.done(fmt.Sprintf("%c message", byte(t))); err != nil {
		return nil, fmt.Errorf("pgoutput: %w", err)
	}
	return m, nil
}

func parseRelation(r *reader) *Relation {
	rel := &Relation{ID: r.u32("relation id"), Namespace: r.cstring("relation namespace"), Name: r.cstring("relation name"),
		ReplicaIdentity: r.u8("relation replica identity")}
	n := int(int16(r.u16("relation column count")))
	if n < 0 {
		r.err = fmt.Errorf("relation: negative column count %d", n)
		return rel
	}
	// Each column takes at least 10 bytes: do not trust n for the allocation.
	rel.Columns = make([]Column, 0, min(n, (len(r.b)-r.off)/10))
	for i := 0; i < n && r.err == nil; i++ {
		rel.Columns = append(rel.Columns, Column{Flags: r.u8("column flags"), Name: r.cstring("column name"),
			TypeOID: r.u32("column type"), TypeMod: int32(r.u32("column type modifier"))})
	}
	return rel
}
