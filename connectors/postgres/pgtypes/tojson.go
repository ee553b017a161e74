package pgtypes

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the JSON form of text, a value of type t in its text
// output form. A value that does not have the form its type promises (a
// bug or a setting the connector did not expect) is an error.
func AppendJSON(dst []byte, t Type, text []byte) ([]byte, error) {
	switch t.Kind {
	case Int:
		if !isInteger(text) {
			return dst, fmt.Errorf("%s value %q is not an integer", t.Name, text)
		}
		return append(dst, text...), nil
	case Float:
		if _, err := strconv.ParseFloat(string(text), 64); err != nil || !isJSONNumber(text) {
			// NaN and ±Infinity have no JSON number.
			return AppendString(dst, text), nil
		}
		return append(dst, text...), nil
	case Bool:
		switch string(text) {
		case "t", "true":
			return append(dst, "true"...), nil
		case "f", "false":
			return append(dst, "false"...), nil
		}
		return dst, fmt.Errorf("bool value %q is neither t nor f", text)
	case Timestamp:
		return AppendString(dst, isoTimestamp(text, false)), nil
	case TimestampTZ:
		return AppendString(dst, isoTimestamp(text, true)), nil
	case TimeTZ:
		return AppendString(dst, isoOffset(text)), nil
	case JSON:
		if !json.Valid(text) {
			return dst, fmt.Errorf("%s value is not valid JSON", t.Name)
		}
		return append(dst, text...), nil
	case Bytea:
		raw, err := decodeByteaHex(text)
		if err != nil {
			return dst, err
		}
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, raw)
		return append(dst, '"'), nil
	case Array:
		return appendArray(dst, t, text)
	}
	// Text, numeric, date, time, interval, uuid, enums and unknown types:
	// the text form is the value.
	return AppendString(dst, text), nil
}

// isInteger reports whether b is an optionally signed run of digits
// without leading zeros, as PostgreSQL prints integers and JSON requires.
func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || (len(b) > 1 && b[0] == '0') {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isJSONNumber reports whether b is a number in JSON's grammar (Go's
// ParseFloat also takes "inf", "0x1p3", "1_0" and a leading '+').
func isJSONNumber(b []byte) bool {
	var v any
	return json.Unmarshal(b, &v) == nil && len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9'))
}

// isoTimestamp turns "2024-01-31 13:45:00.5+00" into
// "2024-01-31T13:45:00.5Z". Infinite and BC values stay as they are.
func isoTimestamp(text []byte, tz bool) []byte {
	if len(text) < 11 || text[10] != ' ' || bytes.HasSuffix(text, []byte(" BC")) {
		return text
	}
	out := make([]byte, 0, len(text)+4)
	out = append(out, text[:10]...)
	out = append(out, 'T')
	rest := text[11:]
	if tz {
		return append(out, isoOffset(rest)...)
	}
	return append(out, rest...)
}

// isoOffset rewrites the UTC offset at the end of a time: "+00" becomes
// "Z" and "+05" becomes "+05:00"; "+05:30" stays.
func isoOffset(text []byte) []byte {
	i := bytes.LastIndexAny(text, "+-")
	if i < 0 {
		return text
	}
	off := text[i+1:]
	switch {
	case string(off) == "00":
		return append(append([]byte{}, text[:i]...), 'Z')
	case len(off) == 2 && isDigit(off[0]) && isDigit(off[1]):
		return append(append([]byte{}, text...), ":00"...)
	}
	return text
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// decodeByteaHex decodes bytea's hex output form, "\x0a0b".
func decodeByteaHex(text []byte) ([]byte, error) {
	if len(text) < 2 || text[0] != '\\' || text[1] != 'x' {
		return nil, fmt.Errorf("bytea value does not start with \\x: set bytea_output=hex")
	}
	raw := make([]byte, hex.DecodedLen(len(text)-2))
	if _, err := hex.Decode(raw, text[2:]); err != nil {
		return nil, fmt.Errorf("bytea value: %w", err)
	}
	return raw, nil
}

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c >= 0x20:
				dst = append(dst, c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
