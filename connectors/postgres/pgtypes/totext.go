package pgtypes

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// ToText returns the text form of the JSON value raw for a column of type
// t, which the server parses back as that type; null reports a JSON null.
// It is the inverse of AppendJSON: ToText(t, AppendJSON(t, v)) reads back
// as v. Values of other shapes are taken as they come: a string is its
// content, a number its digits, an object its JSON text.
func ToText(t Type, raw []byte) (text []byte, null bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, false, fmt.Errorf("empty JSON value")
	}
	if string(raw) == "null" {
		return nil, true, nil
	}
	switch {
	case t.Kind == JSON:
		if !json.Valid(raw) {
			return nil, false, fmt.Errorf("not valid JSON")
		}
		return raw, false, nil
	case t.Kind == Array && raw[0] == '[':
		out, err := arrayLiteral(nil, t, raw)
		return out, false, err
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, fmt.Errorf("string: %w", err)
		}
		if t.Kind == Bytea {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, false, fmt.Errorf("bytea value is not base64: %w", err)
			}
			return append([]byte(`\x`), hex.EncodeToString(b)...), false, nil
		}
		return []byte(s), false, nil
	}
	if !json.Valid(raw) {
		return nil, false, fmt.Errorf("not valid JSON")
	}
	return raw, false, nil
}

// arrayLiteral appends the array literal ({...}) of a JSON array for an
// array type: elements quoted, NULL for null, nested JSON arrays as further
// dimensions.
func arrayLiteral(dst []byte, t Type, raw []byte) ([]byte, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("array: %w", err)
	}
	elem := Type{Kind: Text, Delim: ','}
	if t.Elem != nil {
		elem = *t.Elem
	}
	delim := t.Delim
	if delim == 0 {
		delim = ','
	}
	dst = append(dst, '{')
	for i, e := range elems {
		if i > 0 {
			dst = append(dst, delim)
		}
		e = bytes.TrimSpace(e)
		if len(e) > 0 && e[0] == '[' && elem.Kind != JSON {
			var err error
			if dst, err = arrayLiteral(dst, t, e); err != nil {
				return nil, err
			}
			continue
		}
		text, null, err := ToText(elem, e)
		if err != nil {
			return nil, fmt.Errorf("array element %d: %w", i, err)
		}
		if null {
			dst = append(dst, "NULL"...)
			continue
		}
		dst = append(dst, '"')
		for _, c := range text {
			if c == '"' || c == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		}
		dst = append(dst, '"')
	}
	return append(dst, '}'), nil
}
