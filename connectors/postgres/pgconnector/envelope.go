package pgconnector

import (
	"fmt"
	"strconv"

	"github.com/tributary-io/tributary/connectors/postgres/pgoutput"
	"github.com/tributary-io/tributary/connectors/postgres/pgtypes"
)

// Debezium operation codes.
const (
	opRead     = 'r' // a snapshot row
	opCreate   = 'c'
	opUpdate   = 'u'
	opDelete   = 'd'
	opTruncate = 't'
)

// colDesc is a column as events render it.
type colDesc struct {
	name string
	typ  pgtypes.Type
}

// appendRow appends a row as a JSON object of its columns in table order.
// An unchanged TOASTed value (not sent by PostgreSQL) takes its value from
// fill, the full old row when the table has REPLICA IDENTITY FULL, and is
// left out otherwise: a consumer keeps the value it has.
func appendRow(dst []byte, cols []colDesc, vals, fill pgoutput.Tuple) ([]byte, error) {
	if len(vals) > len(cols) {
		return dst, fmt.Errorf("row has %d values for %d columns", len(vals), len(cols))
	}
	dst = append(dst, '{')
	first := true
	for i, v := range vals {
		if v.Kind == pgoutput.ValueUnchanged {
			if i >= len(fill) || fill[i].Kind == pgoutput.ValueUnchanged {
				continue
			}
			v = fill[i]
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = pgtypes.AppendString(dst, []byte(cols[i].name))
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, cols[i], v); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func appendValue(dst []byte, col colDesc, v pgoutput.Value) ([]byte, error) {
	switch v.Kind {
	case pgoutput.ValueNull:
		return append(dst, "null"...), nil
	case pgoutput.ValueText:
		out, err := pgtypes.AppendJSON(dst, col.typ, v.Data)
		if err != nil {
			return dst, fmt.Errorf("column %s: %w", col.name, err)
		}
		return out, nil
	}
	return dst, fmt.Errorf("column %s: value of kind %q (binary values are not requested)", col.name, v.Kind)
}

// appendKey appends the key object of the columns at key.
func appendKey(dst []byte, cols []colDesc, key []int, vals pgoutput.Tuple) ([]byte, error) {
	dst = append(dst, '{')
	for n, i := range key {
		if n > 0 {
			dst = append(dst, ',')
		}
		if i >= len(vals) {
			return dst, fmt.Errorf("key column %d missing from a row of %d values", i, len(vals))
		}
		dst = pgtypes.AppendString(dst, []byte(cols[i].name))
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, cols[i], vals[i]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// keyText returns the key values as text, for positions and the snapshot
// filter; false when a key value is missing or null.
func keyText(key []int, vals pgoutput.Tuple) ([]string, bool) {
	out := make([]string, len(key))
	for n, i := range key {
		if i >= len(vals) || vals[i].Kind != pgoutput.ValueText {
			return nil, false
		}
		out[n] = string(vals[i].Data)
	}
	return out, true
}

// sourceInfo is the source block of an event.
type sourceInfo struct {
	snapshot bool
	table    tableName
	txID     uint32 // 0: none (snapshot rows)
	lsn      pgoutput.LSN
	tsMs     int64
}

// envelope renders Debezium-style event values.
type envelope struct {
	prefix, db string
}

// appendEvent appends the event value: before and after are JSON objects
// or nil for null. ts_ms is the commit time (snapshot rows: the snapshot's
// start), so an event read again after a restart is byte for byte the same.
func (e envelope) appendEvent(dst []byte, op byte, before, after []byte, src sourceInfo) []byte {
	dst = append(dst, `{"before":`...)
	dst = appendRaw(dst, before)
	dst = append(dst, `,"after":`...)
	dst = appendRaw(dst, after)
	dst = append(dst, `,"source":{"version":"`+Version+`","connector":"postgresql","name":`...)
	dst = pgtypes.AppendString(dst, []byte(e.prefix))
	dst = append(dst, `,"ts_ms":`...)
	dst = strconv.AppendInt(dst, src.tsMs, 10)
	dst = append(dst, `,"snapshot":`...)
	dst = strconv.AppendQuote(dst, strconv.FormatBool(src.snapshot))
	dst = append(dst, `,"db":`...)
	dst = pgtypes.AppendString(dst, []byte(e.db))
	dst = append(dst, `,"schema":`...)
	dst = pgtypes.AppendString(dst, []byte(src.table.Schema))
	dst = append(dst, `,"table":`...)
	dst = pgtypes.AppendString(dst, []byte(src.table.Name))
	dst = append(dst, `,"txId":`...)
	if src.txID == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = strconv.AppendUint(dst, uint64(src.txID), 10)
	}
	dst = append(dst, `,"lsn":`...)
	dst = strconv.AppendUint(dst, uint64(src.lsn), 10)
	dst = append(dst, `},"op":"`...)
	dst = append(dst, op)
	dst = append(dst, `","ts_ms":`...)
	dst = strconv.AppendInt(dst, src.tsMs, 10)
	return append(dst, '}')
}

func appendRaw(dst, obj []byte) []byte {
	if obj == nil {
		return append(dst, "null"...)
	}
	return append(dst, obj...)
}

// topic returns the topic of a table's events.
func (e envelope) topic(t tableName) string { return e.prefix + "." + t.Schema + "." + t.Name }
