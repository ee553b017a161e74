package pgoutput

import "encoding/binary"

// encode is the inverse of Parse, for building test inputs and for the
// fuzz target's round trip.
func encode(m Message) []byte {
	b := []byte{byte(m.Type())}
	u16 := func(v uint16) { b = binary.BigEndian.AppendUint16(b, v) }
	u32 := func(v uint32) { b = binary.BigEndian.AppendUint32(b, v) }
	u64 := func(v uint64) { b = binary.BigEndian.AppendUint64(b, v) }
	str := func(s string) { b = append(append(b, s...), 0) }
	tuple := func(t Tuple) {
		u16(uint16(len(t)))
		for _, v := range t {
			b = append(b, v.Kind)
			if v.Kind == ValueText || v.Kind == ValueBinary {
				u32(uint32(len(v.Data)))
				b = append(b, v.Data...)
			}
		}
	}
	switch m := m.(type) {
	case *Begin:
		u64(uint64(m.FinalLSN))
		u64(uint64(PGMicros(m.CommitTime)))
		u32(m.Xid)
	case *Commit:
		b = append(b, m.Flags)
		u64(uint64(m.CommitLSN))
		u64(uint64(m.EndLSN))
		u64(uint64(PGMicros(m.CommitTime)))
	case *Origin:
		u64(uint64(m.CommitLSN))
		str(m.Name)
	case *Relation:
		u32(m.ID)
		str(m.Namespace)
		str(m.Name)
		b = append(b, m.ReplicaIdentity)
		u16(uint16(len(m.Columns)))
		for _, c := range m.Columns {
			b = append(b, c.Flags)
			str(c.Name)
			u32(c.TypeOID)
			u32(uint32(c.TypeMod))
		}
	case *DataType:
		u32(m.OID)
		str(m.Namespace)
		str(m.Name)
	case *Insert:
		u32(m.RelationID)
		b = append(b, 'N')
		tuple(m.New)
	case *Update:
		u32(m.RelationID)
		if m.OldKind != 0 {
			b = append(b, m.OldKind)
			tuple(m.Old)
		}
		b = append(b, 'N')
		tuple(m.New)
	case *Delete:
		u32(m.RelationID)
		b = append(b, m.OldKind)
		tuple(m.Old)
	case *Truncate:
		u32(uint32(len(m.RelationIDs)))
		b = append(b, m.Options)
		for _, id := range m.RelationIDs {
			u32(id)
		}
	case *LogicalMessage:
		b = append(b, m.Flags)
		u64(uint64(m.LSN))
		str(m.Prefix)
		u32(uint32(len(m.Content)))
		b = append(b, m.Content...)
	}
	return b
}
