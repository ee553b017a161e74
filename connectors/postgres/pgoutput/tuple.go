package pgoutput

import "fmt"

// Kinds of tuple column values.
const (
	ValueNull      byte = 'n'
	ValueUnchanged byte = 'u' // an unchanged TOASTed value that is not sent
	ValueText      byte = 't'
	ValueBinary    byte = 'b' // only with the binary option, which we do not use
)

// Tuple is a row's column values in the order of the Relation's columns.
type Tuple []Value

// Value is one column value.
type Value struct {
	// Kind is ValueNull, ValueUnchanged, ValueText or ValueBinary.
	Kind byte
	// Data is the value in the type's text output form (or binary send
	// form for ValueBinary); nil for null and unchanged values.
	Data []byte
}

func parseTuple(r *reader, what string) Tuple {
	n := int(int16(r.u16(what + " column count")))
	if r.err != nil {
		return nil
	}
	if n < 0 {
		r.err = fmt.Errorf("%s: negative column count %d", what, n)
		return nil
	}
	// Each value takes at least one byte: do not trust n for the allocation.
	t := make(Tuple, 0, min(n, len(r.b)-r.off))
	for i := 0; i < n && r.err == nil; i++ {
		v := Value{Kind: r.u8(what + " value kind")}
		switch v.Kind {
		case ValueNull, ValueUnchanged:
		case ValueText, ValueBinary:
			v.Data = r.take(what+" value", int(int32(r.u32(what+" value length"))))
		default:
			if r.err == nil {
				r.err = fmt.Errorf("%s: column %d: unknown value kind %q", what, i, v.Kind)
			}
		}
		t = append(t, v)
	}
	return t
}
