package process

import (
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/tributary-io/tributary/pipelines/spec"
)

// mapStage gives a record a new key, value and/or headers, each computed
// from the record as it came into the stage.
type mapStage struct {
	key, value  *program
	headers     []namedProgram
	setsHeaders bool
	keyGiven    bool
	valueGiven  bool
}

type namedProgram struct {
	name string
	prog *program
}

func (c *compiler) mapStage(ms *spec.MapSpec) stageDef {
	s := &mapStage{
		key: c.compile(ms.Key, false), value: c.compile(ms.Value, false),
		keyGiven: !ms.Key.IsZero(), valueGiven: !ms.Value.IsZero(), setsHeaders: ms.HeadersGiven,
	}
	for _, h := range ms.Headers {
		s.headers = append(s.headers, namedProgram{name: h.Name, prog: c.compile(h.Expr, false)})
	}
	return s
}

func (s *mapStage) instance() stage { return s }

func (s *mapStage) apply(c *Chain, m *Message) (bool, error) {
	// Evaluate everything before changing anything: every part sees the
	// record as it was.
	var key []byte
	var val any
	var err error
	if s.keyGiven {
		v, err := c.eval(s.key, m)
		if err != nil {
			return false, fmt.Errorf("key: %w", err)
		}
		if key, err = textOf(v); err != nil {
			return false, fmt.Errorf("key: %w", err)
		}
	}
	if s.valueGiven {
		if val, err = c.eval(s.value, m); err != nil {
			return false, fmt.Errorf("value: %w", err)
		}
	}
	var headers []Header
	for _, h := range s.headers {
		v, err := c.eval(h.prog, m)
		if err != nil {
			return false, fmt.Errorf("headers.%s: %w", h.name, err)
		}
		if v == nil {
			continue // a nil header value leaves the header out
		}
		b, err := textOf(v)
		if err != nil {
			return false, fmt.Errorf("headers.%s: %w", h.name, err)
		}
		headers = append(headers, Header{Key: h.name, Value: b})
	}
	if s.keyGiven {
		m.Key = key
		m.changed()
	}
	if s.valueGiven {
		m.SetValue(val)
	}
	if s.setsHeaders {
		m.Headers = headers
		m.changed()
	}
	return true, nil
}

// setStage assigns fields one after the other; each assignment sees the
// ones before it.
type setStage struct{ assigns []assign }

type assign struct {
	target spec.FieldPath
	prog   *program
}

func (c *compiler) setStage(as []spec.Assign) stageDef {
	s := &setStage{}
	for _, a := range as {
		s.assigns = append(s.assigns, assign{target: a.Target, prog: c.compile(a.Expr, false)})
	}
	return s
}

func (s *setStage) instance() stage { return s }

func (s *setStage) apply(c *Chain, m *Message) (bool, error) {
	for _, a := range s.assigns {
		v, err := c.eval(a.prog, m)
		if err != nil {
			return false, fmt.Errorf("%s: %w", a.target, err)
		}
		if err := setField(m, a.target, v); err != nil {
			return false, fmt.Errorf("%s: %w", a.target, err)
		}
	}
	return true, nil
}

// setField stores v at path in m.
func setField(m *Message, path spec.FieldPath, v any) error {
	switch path.Root {
	case "key":
		b, err := textOf(v)
		if err != nil {
			return err
		}
		m.Key = b
		m.changed()
	case "headers":
		if v == nil {
			m.DeleteHeader(path.Fields[0])
			return nil
		}
		b, err := textOf(v)
		if err != nil {
			return err
		}
		m.SetHeader(path.Fields[0], b)
	case "timestamp":
		ts, err := toTime(v)
		if err != nil {
			return err
		}
		m.Timestamp = ts
		m.changed()
	case "value":
		if len(path.Fields) == 0 {
			m.SetValue(v)
			return nil
		}
		root := m.Value()
		if root == nil {
			root = map[string]any{}
		}
		obj, ok := root.(map[string]any)
		if !ok {
			return fmt.Errorf("the value is a %s, not an object with fields", typeName(root))
		}
		cur := obj
		for i, f := range path.Fields[:len(path.Fields)-1] {
			next, ok := cur[f].(map[string]any)
			if !ok {
				if cur[f] != nil {
					return fmt.Errorf("value.%s is a %s, not an object with fields", joinFields(path.Fields[:i+1]), typeName(cur[f]))
				}
				next = map[string]any{}
				cur[f] = next
			}
			cur = next
		}
		cur[path.Fields[len(path.Fields)-1]] = v
		if m.decoded && m.val != nil {
			m.changedValue()
		} else {
			m.SetValue(obj)
		}
	default:
		return fmt.Errorf("cannot set %s", path)
	}
	return nil
}

func joinFields(fs []string) string {
	out := ""
	for i, f := range fs {
		if i > 0 {
			out += "."
		}
		out += f
	}
	return out
}

// toTime reads a timestamp: a time, milliseconds since the epoch, or an
// RFC 3339 text.
func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case int:
		return time.UnixMilli(int64(x)), nil
	case int64:
		return time.UnixMilli(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return time.Time{}, fmt.Errorf("%v is not a timestamp", x)
		}
		return time.UnixMilli(int64(x)), nil
	case string:
		ts, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", x)
		}
		return ts, nil
	}
	return time.Time{}, fmt.Errorf("want a time, milliseconds since the epoch or an RFC 3339 text, got %s", typeName(v))
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	case bool:
		return "boolean"
	case int, int64, float64:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// deleteStage removes fields; removing what is not there does nothing.
type deleteStage struct{ paths []spec.FieldPath }

func (s *deleteStage) instance() stage { return s }

func (s *deleteStage) apply(_ *Chain, m *Message) (bool, error) {
	for _, p := range s.paths {
		switch p.Root {
		case "key":
			m.Key = nil
			m.changed()
		case "headers":
			m.DeleteHeader(p.Fields[0])
		case "value":
			if len(p.Fields) == 0 {
				m.SetValue(nil)
				continue
			}
			cur, ok := m.Value().(map[string]any)
			for _, f := range p.Fields[:len(p.Fields)-1] {
				if !ok {
					break
				}
				cur, ok = cur[f].(map[string]any)
			}
			last := p.Fields[len(p.Fields)-1]
			if ok {
				if _, there := cur[last]; there {
					delete(cur, last)
					m.changedValue()
				}
			}
		}
	}
	return true, nil
}

// parseStage parses text into a structured value.
type parseStage struct {
	format string
	re     *regexp.Regexp
	from   *program // nil: the record's value as text
	into   spec.FieldPath
}

func (c *compiler) parseStage(ps *spec.ParseSpec, path string) stageDef {
	s := &parseStage{format: ps.Format, from: c.compile(ps.From, false), into: ps.Into}
	if ps.Format == "regexp" {
		re, err := regexp.Compile(ps.Pattern)
		if err != nil {
			// spec reported it already, in the same words: Load drops the
			// duplicate.
			c.probs.Add(ps.PatternPos, path+".pattern", "bad regular expression: %v", err)
			return nil
		}
		s.re = re
	}
	return s
}

func (s *parseStage) instance() stage { return s }

func (s *parseStage) apply(c *Chain, m *Message) (bool, error) {
	var text string
	if s.from != nil {
		v, err := c.eval(s.from, m)
		if err != nil {
			return false, fmt.Errorf("from: %w", err)
		}
		switch x := v.(type) {
		case string:
			text = x
		case []byte:
			text = string(x)
		default:
			return false, fmt.Errorf("from: want text to parse, got %s", typeName(v))
		}
	} else {
		b, err := m.ValueBytes()
		if err != nil {
			return false, err
		}
		text = string(b)
	}
	var out any
	var err error
	switch s.format {
	case "json":
		if out, err = ParseJSON([]byte(text)); err != nil {
			return false, fmt.Errorf("parse json: %w", err)
		}
	case "logfmt":
		if out, err = ParseLogfmt(text); err != nil {
			return false, fmt.Errorf("parse logfmt: %w", err)
		}
	case "regexp":
		if out, err = parseRegexp(s.re, text); err != nil {
			return false, fmt.Errorf("parse regexp: %w", err)
		}
	default:
		return false, fmt.Errorf("unknown format %q", s.format)
	}
	if err := setField(m, s.into, out); err != nil {
		return false, fmt.Errorf("into %s: %w", s.into, err)
	}
	return true, nil
}
