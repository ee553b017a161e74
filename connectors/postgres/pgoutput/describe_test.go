package pgoutput

import (
	"fmt"
	"strings"
)

// describe renders a message compactly for the recorded-stream tests: what
// a reader of the scenario's SQL can predict, without LSNs and times.
func describe(m Message) string {
	switch m := m.(type) {
	case *Begin:
		return "BEGIN"
	case *Commit:
		return "COMMIT"
	case *Origin:
		return "ORIGIN " + m.Name
	case *Relation:
		cols := make([]string, len(m.Columns))
		for i, c := range m.Columns {
			cols[i] = fmt.Sprintf("%s:%d", c.Name, c.TypeOID)
			if c.TypeOID >= firstUserOID {
				// OIDs of types created by the scenario vary between recordings.
				cols[i] = c.Name + ":user"
			}
			if c.Key() {
				cols[i] += ":key"
			}
		}
		return fmt.Sprintf("RELATION %s.%s identity=%c [%s]", m.Namespace, m.Name, m.ReplicaIdentity, strings.Join(cols, " "))
	case *DataType:
		return fmt.Sprintf("TYPE %s.%s", m.Namespace, m.Name)
	case *Insert:
		return "INSERT " + describeTuple(m.New)
	case *Update:
		s := "UPDATE "
		if m.OldKind != 0 {
			s += fmt.Sprintf("old(%c)=%s ", m.OldKind, describeTuple(m.Old))
		}
		return s + describeTuple(m.New)
	case *Delete:
		return fmt.Sprintf("DELETE old(%c)=%s", m.OldKind, describeTuple(m.Old))
	case *Truncate:
		return fmt.Sprintf("TRUNCATE options=%d relations=%d", m.Options, len(m.RelationIDs))
	case *LogicalMessage:
		return fmt.Sprintf("MESSAGE %s %q flags=%d", m.Prefix, m.Content, m.Flags)
	}
	return fmt.Sprintf("%T", m)
}

// firstUserOID is PostgreSQL's first OID for user-created objects.
const firstUserOID = 16384

func describeTuple(t Tuple) string {
	vals := make([]string, len(t))
	for i, v := range t {
		switch v.Kind {
		case ValueNull:
			vals[i] = "null"
		case ValueUnchanged:
			vals[i] = "unchanged"
		default:
			s := string(v.Data)
			if len(s) > 20 {
				s = fmt.Sprintf("%s...(%d bytes)", s[:8], len(s))
			}
			vals[i] = fmt.Sprintf("%q", s)
		}
	}
	return "(" + strings.Join(vals, ",") + ")"
}
