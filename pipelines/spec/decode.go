package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks the yaml.v3 node tree of one file and collects every problem
// instead of stopping at the first: the accessors report a wrong type or a
// missing field and return the zero value, so decoding carries on.
type decoder struct {
	file  string
	lines []string // the file's lines, to place expressions in block scalars
	probs Problems
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.probs.Add(d.pos(n), path, format, args...)
}

// describe names a node's type for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing (null)"
	case "!!int":
		return fmt.Sprintf("the integer %s", n.Value)
	case "!!float":
		return fmt.Sprintf("the number %s", n.Value)
	case "!!bool":
		return fmt.Sprintf("the boolean %s", n.Value)
	}
	return fmt.Sprintf("the string %q", clip(n.Value))
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// usable reports whether n holds a value; it reports aliases, which
// manifests do not support, as problems.
func (d *decoder) usable(n *yaml.Node, path string) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.AliasNode {
		d.errorf(n, path, "YAML aliases (*%s) are not supported in manifests; write the value out", n.Value)
		return false
	}
	return !(n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// object is a mapping whose keys were checked against the fields it may
// have. A nil *object (the node was not a mapping) answers every accessor
// with zero values and reports nothing more.
type object struct {
	d    *decoder
	n    *yaml.Node
	path string
	vals map[string]*yaml.Node
	keys map[string]*yaml.Node
}

// object checks that n is a mapping with no fields outside known, reporting
// unknown and repeated keys.
func (d *decoder) object(n *yaml.Node, path string, known ...string) *object {
	if !d.usable(n, path) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping, got %s", describe(n))
		return nil
	}
	o := &object{d: d, n: n, path: path, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "a field name must be a plain string, got %s", describe(k))
			continue
		}
		if _, dup := o.keys[k.Value]; dup {
			d.errorf(k, join(path, k.Value), "field given twice")
			continue
		}
		if !contains(known, k.Value) {
			d.errorf(k, path, "unknown field %q%s", k.Value, suggest(k.Value, known))
			continue
		}
		o.keys[k.Value], o.vals[k.Value] = k, v
	}
	return o
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest names a known field close to name: the same but for case or
// separators, or at most two edits away.
func suggest(name string, known []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("-", "", "_", "", ".", "").Replace(strings.ToLower(s))
	}
	best, bestDist := "", 3
	for _, k := range known {
		if norm(k) == norm(name) {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
		if d := editDistance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		if len(known) <= 8 {
			return fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
		}
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// node returns the value of field name, or nil when absent or null.
func (o *object) node(name string) *yaml.Node {
	if o == nil {
		return nil
	}
	v := o.vals[name]
	if !o.d.usable(v, o.sub(name)) {
		return nil
	}
	return v
}

func (o *object) has(name string) bool { return o.node(name) != nil }

func (o *object) sub(name string) string {
	if o == nil {
		return name
	}
	return join(o.path, name)
}

// pos is the position of field name's value, or of the mapping when the
// field is absent.
func (o *object) pos(name string) Pos {
	if o == nil {
		return Pos{}
	}
	if v := o.vals[name]; v != nil {
		return o.d.pos(v)
	}
	return o.d.pos(o.n)
}

// keyPos is the position of field name's key, or of the mapping.
func (o *object) keyPos(name string) Pos {
	if o == nil {
		return Pos{}
	}
	if k := o.keys[name]; k != nil {
		return o.d.pos(k)
	}
	return o.d.pos(o.n)
}

// missing reports a required field that is absent or null.
func (o *object) missing(name, what string) {
	if v, given := o.vals[name]; given && v.Kind != yaml.AliasNode {
		o.d.errorf(v, o.sub(name), "%s must not be empty", what)
		return
	}
	o.d.errorf(o.n, o.path, "missing required field %q (%s)", name, what)
}

// scalar returns field name's scalar node, reporting lists and mappings.
func (o *object) scalar(name string, required bool, what string) *yaml.Node {
	if o == nil {
		return nil
	}
	v := o.node(name)
	if v == nil {
		if required {
			o.missing(name, what)
		}
		return nil
	}
	if v.Kind != yaml.ScalarNode {
		o.d.errorf(v, o.sub(name), "want %s, got %s", what, describe(v))
		return nil
	}
	return v
}

// str returns a string field. Any scalar is accepted as its text, so
// `topic: 2024` names the topic "2024".
func (o *object) str(name string, required bool, what string) string {
	v := o.scalar(name, required, what)
	if v == nil {
		return ""
	}
	if required && strings.TrimSpace(v.Value) == "" {
		o.d.errorf(v, o.sub(name), "%s must not be empty", what)
	}
	return v.Value
}

// integer returns an int field within [lo, hi], or def when absent.
func (o *object) integer(name string, def, lo, hi int) int {
	v := o.scalar(name, false, "an integer")
	if v == nil {
		return def
	}
	n, err := strconv.Atoi(v.Value)
	if err != nil || v.ShortTag() != "!!int" {
		o.d.errorf(v, o.sub(name), "want an integer, got %s", describe(v))
		return def
	}
	if n < lo || n > hi {
		o.d.errorf(v, o.sub(name), "%d is out of range: want %d to %d", n, lo, hi)
		return def
	}
	return n
}

// number returns a float field within (lo, hi], or def when absent.
func (o *object) number(name string, def, lo, hi float64) float64 {
	v := o.scalar(name, false, "a number")
	if v == nil {
		return def
	}
	tag := v.ShortTag()
	f, err := strconv.ParseFloat(v.Value, 64)
	if err != nil || (tag != "!!int" && tag != "!!float") {
		o.d.errorf(v, o.sub(name), "want a number, got %s", describe(v))
		return def
	}
	if !(f > lo && f <= hi) {
		o.d.errorf(v, o.sub(name), "%s is out of range: want more than %g and at most %g", v.Value, lo, hi)
		return def
	}
	return f
}

// duration returns a positive Go duration field ("250ms", "10m"), or def.
func (o *object) duration(name string, def time.Duration) time.Duration {
	v := o.scalar(name, false, "a duration")
	if v == nil {
		return def
	}
	d, err := time.ParseDuration(v.Value)
	if err != nil {
		o.d.errorf(v, o.sub(name), "want a duration such as 250ms, 10s or 1h, got %s", describe(v))
		return def
	}
	if d <= 0 {
		o.d.errorf(v, o.sub(name), "must be positive, got %s", v.Value)
		return def
	}
	return d
}

// expr returns an expression field.
func (o *object) expr(name string, required bool) Expr {
	v := o.scalar(name, required, "an expression")
	if v == nil {
		return Expr{}
	}
	return o.d.exprAt(v, o.sub(name))
}

func (d *decoder) exprAt(v *yaml.Node, path string) Expr {
	e := exprFrom(v, d.file, d.lines, path)
	if strings.TrimSpace(e.Src) == "" {
		d.errorf(v, path, "the expression is empty")
	}
	return e
}

// Named is a string with where it was written.
type Named struct {
	Name string
	Pos  Pos
}

// names returns a field that is one string or a list of strings.
func (o *object) names(name string, required bool, what string) []Named {
	v := o.node(name)
	if v == nil {
		if required && o != nil {
			o.missing(name, what)
		}
		return nil
	}
	return o.d.namesAt(v, o.sub(name), what)
}

func (d *decoder) namesAt(v *yaml.Node, path, what string) []Named {
	switch v.Kind {
	case yaml.ScalarNode:
		if strings.TrimSpace(v.Value) == "" {
			d.errorf(v, path, "%s must not be empty", what)
			return nil
		}
		return []Named{{Name: v.Value, Pos: d.pos(v)}}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			d.errorf(v, path, "%s: the list is empty", what)
			return nil
		}
		var out []Named
		for i, item := range v.Content {
			p := index(path, i)
			if !d.usable(item, p) {
				d.errorf(item, p, "want a name, got %s", describe(item))
				continue
			}
			if item.Kind != yaml.ScalarNode || strings.TrimSpace(item.Value) == "" {
				d.errorf(item, p, "want a name, got %s", describe(item))
				continue
			}
			out = append(out, Named{Name: item.Value, Pos: d.pos(item)})
		}
		return out
	}
	d.errorf(v, path, "want %s (a name or a list of names), got %s", what, describe(v))
	return nil
}

// StringMap is a mapping of strings in the order written, with positions.
type StringMap struct {
	Keys   []string
	Values map[string]string
	// KeyPos and ValuePos locate each entry.
	KeyPos, ValuePos map[string]Pos
	// Pos is where the mapping starts.
	Pos Pos
}

// Get returns the value of key.
func (m StringMap) Get(key string) (string, bool) {
	v, ok := m.Values[key]
	return v, ok
}

// stringMap returns a mapping of scalars; a list of scalars as a value is
// joined with commas, the form list-typed connector settings take.
func (o *object) stringMap(name string) StringMap {
	v := o.node(name)
	m := StringMap{Values: map[string]string{}, KeyPos: map[string]Pos{}, ValuePos: map[string]Pos{}}
	if v == nil {
		if o != nil {
			m.Pos = o.keyPos(name)
		}
		return m
	}
	path := o.sub(name)
	m.Pos = o.d.pos(v)
	if v.Kind != yaml.MappingNode {
		o.d.errorf(v, path, "want a mapping of names to values, got %s", describe(v))
		return m
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			o.d.errorf(k, path, "a name must be a plain string, got %s", describe(k))
			continue
		}
		p := join(path, k.Value)
		if _, dup := m.Values[k.Value]; dup {
			o.d.errorf(k, p, "given twice")
			continue
		}
		text, ok := o.d.scalarText(val, p)
		if !ok {
			continue
		}
		m.Keys = append(m.Keys, k.Value)
		m.Values[k.Value] = text
		m.KeyPos[k.Value] = o.d.pos(k)
		m.ValuePos[k.Value] = o.d.pos(val)
	}
	return m
}

// scalarText is a scalar's text, or a list of scalars joined by commas.
func (d *decoder) scalarText(v *yaml.Node, path string) (string, bool) {
	if v.Kind == yaml.AliasNode {
		d.usable(v, path)
		return "", false
	}
	switch v.Kind {
	case yaml.ScalarNode:
		if v.ShortTag() == "!!null" {
			return "", true
		}
		return v.Value, true
	case yaml.SequenceNode:
		parts := make([]string, 0, len(v.Content))
		for i, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				d.errorf(item, index(path, i), "want a plain value, got %s", describe(item))
				return "", false
			}
			parts = append(parts, item.Value)
		}
		return strings.Join(parts, ","), true
	}
	d.errorf(v, path, "want a plain value or a list of them, got %s", describe(v))
	return "", false
}

// list returns field name's items when it is a list.
func (o *object) list(name string, required bool, what string) []*yaml.Node {
	v := o.node(name)
	if v == nil {
		if required && o != nil {
			o.missing(name, what)
		}
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		o.d.errorf(v, o.sub(name), "want a list of %s, got %s", what, describe(v))
		return nil
	}
	if required && len(v.Content) == 0 {
		o.d.errorf(v, o.sub(name), "want at least one of %s, the list is empty", what)
	}
	return v.Content
}
