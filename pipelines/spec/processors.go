package spec

import (
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The processor types, in the order the reference documents them.
var processorTypes = []string{"parse", "filter", "map", "set", "delete", "route", "sample", "dedupe", "join", "window", "aggregate"}

// Processor is one step of a pipeline, written as a one-field mapping such
// as `- filter: value.level == "error"`. Type says which of the fields is set.
type Processor struct {
	Type string
	Pos  Pos
	Path string

	Filter Expr
	Map    *MapSpec
	Route  *RouteSpec
	Parse  *ParseSpec
	Set    []Assign
	Delete []FieldPath
	Sample *SampleSpec
	Dedupe *DedupeSpec
	// The stateful steps (see IsStateful).
	Join      *JoinSpec
	Window    *WindowSpec
	Aggregate *AggregateSpec
}

// MapSpec gives a record a new key, value and/or headers. Parts not given
// are kept.
type MapSpec struct {
	Key, Value Expr
	// Headers, when HeadersGiven, replace all headers.
	Headers      []NamedExpr
	HeadersGiven bool
}

// NamedExpr is an expression for a named header or field.
type NamedExpr struct {
	Name string
	Pos  Pos
	Expr Expr
}

// RouteSpec chooses outputs: by the first matching case, or by an
// expression that returns output names.
type RouteSpec struct {
	Cases []RouteCase
	Expr  Expr
}

// RouteCase sends records for which When holds (always, when When is empty)
// to the outputs To.
type RouteCase struct {
	When Expr
	To   []Named
	Pos  Pos
}

// ParseSpec parses text into a structured value.
type ParseSpec struct {
	// Format is json, logfmt or regexp.
	Format string
	// Pattern is the regexp format's pattern, with named groups.
	Pattern    string
	PatternPos Pos
	// From is the text to parse; empty means the record's value.
	From Expr
	// Into is where the result goes. Default: value.
	Into FieldPath
}

// Assign sets one field to an expression's result.
type Assign struct {
	Target FieldPath
	Expr   Expr
}

// SampleSpec keeps a fraction of records, chosen by hashing By (default the
// record's topic, partition and offset), so reruns choose the same records.
type SampleSpec struct {
	Rate float64
	By   Expr
}

// DedupeSpec drops a record whose Key was seen in a record with a
// timestamp less than Window earlier.
type DedupeSpec struct {
	Key    Expr
	Window time.Duration
	// MaxKeys bounds the keys remembered; the oldest are forgotten first.
	// Default 100000.
	MaxKeys int
}

// DefaultDedupeKeys is DedupeSpec.MaxKeys's default.
const DefaultDedupeKeys = 100_000

// FieldPath names a part of a record: key, value, value.a.b, headers.name or
// timestamp.
type FieldPath struct {
	// Root is key, value, headers or timestamp.
	Root string
	// Fields are the keys below value, or the header's name.
	Fields []string
	Text   string
	Pos    Pos
}

// String returns the path as written.
func (f FieldPath) String() string { return f.Text }

// parseFieldPath splits text; allowed lists the roots the processor takes.
func parseFieldPath(text string, allowed ...string) (FieldPath, string) {
	f := FieldPath{Text: text}
	root, rest, dotted := strings.Cut(text, ".")
	f.Root = root
	if !contains(allowed, root) {
		return f, "want a field path starting with " + strings.Join(allowed, ", ") + " (like value.user.id or headers.source)"
	}
	switch root {
	case "key", "timestamp":
		if dotted {
			return f, root + " has no fields"
		}
	case "headers":
		if !dotted || rest == "" {
			return f, "name the header: headers.<name>"
		}
		f.Fields = []string{rest}
	case "value":
		if !dotted {
			return f, ""
		}
		for _, part := range strings.Split(rest, ".") {
			if part == "" {
				return f, "empty field name in the path"
			}
			f.Fields = append(f.Fields, part)
		}
	}
	return f, ""
}

func (d *decoder) fieldPath(v *yaml.Node, path string, allowed ...string) FieldPath {
	f, problem := parseFieldPath(v.Value, allowed...)
	f.Pos = d.pos(v)
	if problem != "" {
		d.errorf(v, path, "%q: %s", clip(v.Value), problem)
	}
	return f
}

func (d *decoder) processor(n *yaml.Node, path string) (Processor, bool) {
	if !d.usable(n, path) {
		d.errorf(n, path, "want a processor such as {filter: <expression>}, got %s", describe(n))
		return Processor{}, false
	}
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		if n.Kind == yaml.MappingNode && len(n.Content) > 2 {
			d.errorf(n.Content[2], path, "one processor per list item: start %q with its own '- '", n.Content[2].Value)
		} else {
			d.errorf(n, path, "want a processor such as {filter: <expression>}, got %s", describe(n))
		}
		return Processor{}, false
	}
	k, v := n.Content[0], n.Content[1]
	p := Processor{Type: k.Value, Pos: d.pos(k), Path: join(path, k.Value)}
	if !contains(processorTypes, k.Value) {
		d.errorf(k, path, "unknown processor %q%s", clip(k.Value), suggest(k.Value, processorTypes))
		return p, false
	}
	if !d.usable(v, p.Path) {
		d.errorf(k, p.Path, "the %s processor needs a value", k.Value)
		return p, false
	}
	switch p.Type {
	case "filter":
		if v.Kind != yaml.ScalarNode {
			d.errorf(v, p.Path, "want a boolean expression, got %s", describe(v))
			return p, false
		}
		p.Filter = d.exprAt(v, p.Path)
	case "map":
		p.Map = d.mapSpec(v, p.Path)
	case "route":
		p.Route = d.routeSpec(v, p.Path)
	case "parse":
		p.Parse = d.parseSpec(v, p.Path)
	case "set":
		p.Set = d.setSpec(v, p.Path)
	case "delete":
		for _, name := range d.namesAt(v, p.Path, "the fields to delete") {
			f, problem := parseFieldPath(name.Name, "key", "value", "headers")
			f.Pos = name.Pos
			if problem != "" {
				d.probs.Add(name.Pos, p.Path, "%q: %s", clip(name.Name), problem)
			}
			p.Delete = append(p.Delete, f)
		}
	case "sample":
		o := d.object(v, p.Path, "rate", "by")
		if !o.has("rate") && o != nil {
			o.missing("rate", "the fraction of records to keep, more than 0 and at most 1")
		}
		p.Sample = &SampleSpec{Rate: o.number("rate", 1, 0, 1), By: o.expr("by", false)}
	case "dedupe":
		o := d.object(v, p.Path, "key", "window", "maxKeys")
		if !o.has("window") && o != nil {
			o.missing("window", "how long a key is remembered, like 10m")
		}
		p.Dedupe = &DedupeSpec{
			Key:     o.expr("key", true),
			Window:  o.duration("window", time.Minute),
			MaxKeys: o.integer("maxKeys", DefaultDedupeKeys, 1, 10_000_000),
		}
	case "join":
		p.Join = d.joinSpec(v, p.Path)
	case "window":
		p.Window = d.windowSpec(v, p.Path)
	case "aggregate":
		p.Aggregate = d.aggregateSpec(v, p.Path)
	}
	return p, true
}

func (d *decoder) mapSpec(v *yaml.Node, path string) *MapSpec {
	o := d.object(v, path, "key", "value", "headers")
	m := &MapSpec{}
	if o == nil {
		return m
	}
	m.Key = o.expr("key", false)
	m.Value = o.expr("value", false)
	if h := o.node("headers"); h != nil {
		m.HeadersGiven = true
		m.Headers = d.namedExprs(h, o.sub("headers"))
	}
	if !o.has("key") && !o.has("value") && !o.has("headers") {
		d.errorf(v, path, "give at least one of key, value and headers")
	}
	return m
}

// namedExprs reads a mapping of names to expressions.
func (d *decoder) namedExprs(h *yaml.Node, path string) []NamedExpr {
	if h.Kind != yaml.MappingNode {
		d.errorf(h, path, "want a mapping of names to expressions, got %s", describe(h))
		return nil
	}
	var out []NamedExpr
	seen := map[string]bool{}
	for i := 0; i+1 < len(h.Content); i += 2 {
		k, e := h.Content[i], h.Content[i+1]
		p := join(path, k.Value)
		if seen[k.Value] {
			d.errorf(k, p, "given twice")
			continue
		}
		seen[k.Value] = true
		if !d.usable(e, p) || e.Kind != yaml.ScalarNode {
			d.errorf(e, p, "want an expression, got %s", describe(e))
			continue
		}
		out = append(out, NamedExpr{Name: k.Value, Pos: d.pos(k), Expr: d.exprAt(e, p)})
	}
	return out
}

func (d *decoder) routeSpec(v *yaml.Node, path string) *RouteSpec {
	r := &RouteSpec{}
	switch v.Kind {
	case yaml.ScalarNode:
		r.Expr = d.exprAt(v, path)
		return r
	case yaml.SequenceNode:
	default:
		d.errorf(v, path, "want a list of cases {when: <expression>, to: <output>} or an expression returning output names, got %s", describe(v))
		return r
	}
	if len(v.Content) == 0 {
		d.errorf(v, path, "want at least one case, the list is empty")
	}
	for i, item := range v.Content {
		p := index(path, i)
		o := d.object(item, p, "when", "to")
		if o == nil {
			continue
		}
		c := RouteCase{When: o.expr("when", false), To: o.names("to", true, "the outputs to send to"), Pos: d.pos(item)}
		if c.When.IsZero() && i != len(v.Content)-1 {
			d.errorf(item, p, "a case without when matches every record, so it must be the last")
		}
		r.Cases = append(r.Cases, c)
	}
	return r
}

func (d *decoder) parseSpec(v *yaml.Node, path string) *ParseSpec {
	ps := &ParseSpec{Format: "json", Into: FieldPath{Root: "value", Text: "value"}}
	if v.Kind == yaml.ScalarNode {
		// The short form: parse: json
		ps.Format = v.Value
		d.checkFormat(v, path, ps, true)
		return ps
	}
	o := d.object(v, path, "format", "pattern", "from", "into")
	if o == nil {
		return ps
	}
	if f := o.scalar("format", true, "json, logfmt or regexp"); f != nil {
		ps.Format = f.Value
		d.checkFormat(f, o.sub("format"), ps, false)
	}
	ps.From = o.expr("from", false)
	if in := o.scalar("into", false, "a field path under value"); in != nil {
		ps.Into = d.fieldPath(in, o.sub("into"), "value")
	}
	pat := o.scalar("pattern", ps.Format == "regexp", "a regular expression with named groups")
	switch {
	case pat != nil && ps.Format != "regexp":
		d.errorf(pat, o.sub("pattern"), "pattern is only for format: regexp")
	case pat != nil:
		ps.Pattern, ps.PatternPos = pat.Value, d.pos(pat)
		re, err := regexp.Compile(pat.Value)
		switch {
		case err != nil:
			d.errorf(pat, o.sub("pattern"), "bad regular expression: %v", err)
		case !hasNamedGroup(re):
			d.errorf(pat, o.sub("pattern"), "the pattern has no named group such as (?P<level>\\w+); the groups become the value's fields")
		}
	}
	return ps
}

func hasNamedGroup(re *regexp.Regexp) bool {
	for _, n := range re.SubexpNames() {
		if n != "" {
			return true
		}
	}
	return false
}

// checkFormat checks a parse format; short is the form `parse: <format>`,
// which has no room for a pattern.
func (d *decoder) checkFormat(v *yaml.Node, path string, ps *ParseSpec, short bool) {
	switch ps.Format {
	case "json", "logfmt":
	case "regexp":
		if short {
			d.errorf(v, path, "format regexp needs a pattern: write parse: {format: regexp, pattern: <regexp>}")
		}
	default:
		d.errorf(v, path, "unknown format %q: want json, logfmt or regexp", clip(ps.Format))
	}
}

func (d *decoder) setSpec(v *yaml.Node, path string) []Assign {
	if v.Kind != yaml.MappingNode {
		d.errorf(v, path, "want a mapping of field paths to expressions, like {value.env: '\"prod\"'}, got %s", describe(v))
		return nil
	}
	var out []Assign
	for _, ne := range d.namedExprs(v, path) {
		f, problem := parseFieldPath(ne.Name, "key", "value", "headers", "timestamp")
		f.Pos = ne.Pos
		if problem != "" {
			d.probs.Add(ne.Pos, path, "%q: %s", clip(ne.Name), problem)
		}
		out = append(out, Assign{Target: f, Expr: ne.Expr})
	}
	if len(v.Content) == 0 {
		d.errorf(v, path, "give at least one field to set")
	}
	return out
}
