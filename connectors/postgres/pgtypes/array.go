package pgtypes

import (
	"bytes"
	"fmt"
)

// appendArray converts an array's text form, like {1,NULL,3},
// {{"a b",c},{d,e}} or [0:1]={x,y} (explicit bounds are dropped), to a JSON
// array of its elements' JSON forms.
func appendArray(dst []byte, t Type, text []byte) ([]byte, error) {
	if t.Elem == nil {
		return dst, fmt.Errorf("array type %s has no element type", t.Name)
	}
	p := arrayParser{s: text, delim: t.Delim}
	if p.delim == 0 {
		p.delim = ','
	}
	if len(text) > 0 && text[0] == '[' {
		eq := bytes.IndexByte(text, '=')
		if eq < 0 {
			return dst, fmt.Errorf("%s value %q: bounds without '='", t.Name, text)
		}
		p.i = eq + 1
	}
	dst, err := p.array(dst, *t.Elem)
	if err == nil && p.skipSpace() < len(p.s) {
		err = fmt.Errorf("trailing text at %d", p.i)
	}
	if err != nil {
		return dst, fmt.Errorf("%s value %q: %w", t.Name, text, err)
	}
	return dst, nil
}

type arrayParser struct {
	s     []byte
	i     int
	delim byte
	buf   []byte // the current element, unescaped
}

func (p *arrayParser) skipSpace() int {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
	return p.i
}

// array parses one "{...}" level.
func (p *arrayParser) array(dst []byte, elem Type) ([]byte, error) {
	if p.skipSpace() >= len(p.s) || p.s[p.i] != '{' {
		return dst, fmt.Errorf("want '{' at %d", p.i)
	}
	p.i++
	dst = append(dst, '[')
	if p.skipSpace() < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return append(dst, ']'), nil
	}
	for n := 0; ; n++ {
		if n > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = p.element(dst, elem); err != nil {
			return dst, err
		}
		if p.skipSpace() >= len(p.s) {
			return dst, fmt.Errorf("unterminated array")
		}
		switch c := p.s[p.i]; {
		case c == '}':
			p.i++
			return append(dst, ']'), nil
		case c == p.delim:
			p.i++
		default:
			return dst, fmt.Errorf("unexpected %q at %d", c, p.i)
		}
	}
}

func (p *arrayParser) element(dst []byte, elem Type) ([]byte, error) {
	if p.skipSpace() >= len(p.s) {
		return dst, fmt.Errorf("unterminated array")
	}
	p.buf = p.buf[:0]
	switch p.s[p.i] {
	case '{':
		return p.array(dst, elem)
	case '"':
		p.i++
		for {
			if p.i >= len(p.s) {
				return dst, fmt.Errorf("unterminated quoted element")
			}
			c := p.s[p.i]
			p.i++
			if c == '"' {
				break
			}
			if c == '\\' {
				if p.i >= len(p.s) {
					return dst, fmt.Errorf("unterminated quoted element")
				}
				c = p.s[p.i]
				p.i++
			}
			p.buf = append(p.buf, c)
		}
		return AppendJSON(dst, elem, p.buf)
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == p.delim || c == '}' {
			break
		}
		if c == '{' || c == '"' {
			return dst, fmt.Errorf("unexpected %q in an unquoted element at %d", c, p.i)
		}
		p.i++
		if c == '\\' && p.i < len(p.s) {
			c = p.s[p.i]
			p.i++
		}
		p.buf = append(p.buf, c)
	}
	el := bytes.TrimRight(p.buf, " \t\r\n")
	if len(el) == 0 {
		return dst, fmt.Errorf("empty element at %d", p.i)
	}
	if bytes.EqualFold(el, []byte("NULL")) {
		return append(dst, "null"...), nil
	}
	return AppendJSON(dst, elem, el)
}
