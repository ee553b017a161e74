package spec

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Delivery is a pipeline's delivery guarantee.
type Delivery string

// The delivery guarantees.
const (
	// ExactlyOnce consumes, produces and commits offsets in one Kafka
	// transaction. Only topic-to-topic pipelines can have it; it is their
	// default.
	ExactlyOnce Delivery = "exactly-once"
	// AtLeastOnce commits offsets after the outputs acknowledged the records,
	// so a crash may repeat some.
	AtLeastOnce Delivery = "at-least-once"
)

// ErrorAction is what happens to a record whose processing fails.
type ErrorAction string

// The error actions.
const (
	// Stop stops the pipeline with the error; nothing of the failing batch
	// is committed. The default: no record is lost unnoticed.
	Stop ErrorAction = "stop"
	// Drop counts the record as an error and goes on.
	Drop ErrorAction = "drop"
	// DeadLetter writes the input record, with the error in its headers, to
	// a topic and goes on.
	DeadLetter ErrorAction = "dead-letter"
)

// ErrorPolicy is a pipeline's onError.
type ErrorPolicy struct {
	Action ErrorAction
	// Topic is the dead-letter topic.
	Topic string
	Pos   Pos
}

// Input is where a pipeline's records come from: topics or a source
// connector.
type Input struct {
	Topics    []Named
	Connector *ConnectorRef
	// StartFrom is where a new consumer group starts: earliest (default)
	// or latest.
	StartFrom string
	Pos       Pos
}

// Output is one destination: a topic or a sink connector.
type Output struct {
	// Name is what route processors refer to; it defaults to the topic or
	// the plugin name.
	Name      string
	Topic     string
	Connector *ConnectorRef
	// Pos is where the output starts, NamePos its name (or Pos) and
	// TopicPos its topic.
	Pos, NamePos, TopicPos Pos
}

// Limits bound what expressions may cost.
type Limits struct {
	// MaxNodes bounds each expression's syntax tree at compile time.
	// Default 1000.
	MaxNodes int
	// MemoryBudget bounds what one expression run may allocate, in expr-lang
	// units (roughly, elements of arrays, maps and ranges it builds).
	// Default 1000000.
	MemoryBudget int
	// RecordTimeout bounds the time all processors may spend on one record.
	// Default 1s: far above what a record needs, so only a runaway
	// expression reaches it, not a garbage collection pause.
	RecordTimeout time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxNodes      = 1000
	DefaultMemoryBudget  = 1_000_000
	DefaultRecordTimeout = time.Second
	// MaxParallelism bounds spec.parallelism.
	MaxParallelism = 256
)

// Pipeline is the spec of a Pipeline manifest.
type Pipeline struct {
	Input      Input
	Processors []Processor
	Outputs    []Output
	// Delivery is the guarantee, defaulted: exactly-once for topic to
	// topic, at-least-once otherwise.
	Delivery Delivery
	// Parallelism is the number of consumers in the pipeline's group.
	// Default 1.
	Parallelism int
	OnError     ErrorPolicy
	Limits      Limits
	// Pos is where the spec starts.
	Pos Pos
}

// TopicToTopic reports whether input and every output are topics.
func (p *Pipeline) TopicToTopic() bool {
	if p.Input.Connector != nil {
		return false
	}
	for _, o := range p.Outputs {
		if o.Connector != nil {
			return false
		}
	}
	return true
}

// Output returns the output called name.
func (p *Pipeline) Output(name string) (Output, bool) {
	for _, o := range p.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return Output{}, false
}

func (d *decoder) pipeline(n *yaml.Node) *Pipeline {
	o := d.object(n, "spec", "input", "processors", "outputs", "delivery", "parallelism", "onError", "limits")
	if o == nil {
		return nil
	}
	p := &Pipeline{Pos: d.pos(n)}
	if in := o.node("input"); in != nil {
		p.Input = d.input(in)
	} else {
		o.missing("input", "topics or a source connector")
	}
	for i, item := range o.list("processors", false, "processors") {
		if pr, ok := d.processor(item, index("spec.processors", i)); ok {
			p.Processors = append(p.Processors, pr)
		}
	}
	for i, item := range o.list("outputs", true, "outputs (topics or sink connectors)") {
		if out, ok := d.output(item, index("spec.outputs", i)); ok {
			p.Outputs = append(p.Outputs, out)
		}
	}
	p.Parallelism = o.integer("parallelism", 1, 1, MaxParallelism)
	p.OnError = d.onError(o)
	p.Limits = d.limits(o.node("limits"))
	d.delivery(o, p)
	d.checkPipeline(p)
	d.checkStateful(p)
	return p
}

func (d *decoder) input(n *yaml.Node) Input {
	o := d.object(n, "spec.input", "topics", "connector", "startFrom")
	in := Input{StartFrom: "earliest", Pos: d.pos(n)}
	if o == nil {
		return in
	}
	switch {
	case o.has("topics") && o.has("connector"):
		d.errorf(o.keys["connector"], "spec.input", "give topics or a connector, not both")
	case o.has("topics"):
		in.Topics = o.names("topics", true, "the input topics")
		d.topicNames(in.Topics, "spec.input.topics")
	case o.has("connector"):
		ref := d.connectorRef(d.object(o.node("connector"), "spec.input.connector", "plugin", "config"), "spec.input.connector")
		in.Connector = &ref
	default:
		d.errorf(n, "spec.input", "missing input: give topics (a list of topic names) or a source connector")
	}
	if v := o.scalar("startFrom", false, "earliest or latest"); v != nil {
		in.StartFrom = v.Value
		if v.Value != "earliest" && v.Value != "latest" {
			d.errorf(v, "spec.input.startFrom", "want earliest or latest, got %s", describe(v))
		}
	}
	return in
}

func (d *decoder) output(n *yaml.Node, path string) (Output, bool) {
	o := d.object(n, path, "name", "topic", "connector")
	if o == nil {
		return Output{}, false
	}
	out := Output{Pos: d.pos(n)}
	switch {
	case o.has("topic") && o.has("connector"):
		d.errorf(o.keys["connector"], path, "give a topic or a connector, not both")
	case o.has("topic"):
		if v := o.scalar("topic", true, "a topic name"); v != nil {
			out.Topic, out.TopicPos = v.Value, d.pos(v)
			d.topicName(v, join(path, "topic"))
		}
		out.Name = out.Topic
	case o.has("connector"):
		ref := d.connectorRef(d.object(o.node("connector"), join(path, "connector"), "plugin", "config"), join(path, "connector"))
		out.Connector = &ref
		out.Name = ref.Plugin
	default:
		d.errorf(n, path, "missing destination: give a topic or a sink connector")
		return out, false
	}
	out.NamePos = d.pos(n)
	if v := o.scalar("name", false, "an output name"); v != nil {
		out.Name, out.NamePos = v.Value, d.pos(v)
		if !nameRE.MatchString(v.Value) {
			d.errorf(v, join(path, "name"), "%q is not a valid output name", clip(v.Value))
		}
	}
	return out, true
}

func (d *decoder) onError(o *object) ErrorPolicy {
	pol := ErrorPolicy{Action: Stop, Pos: o.pos("onError")}
	v := o.node("onError")
	if v == nil {
		return pol
	}
	const want = `want drop, stop or a mapping {dead-letter: <topic>}`
	switch v.Kind {
	case yaml.ScalarNode:
		switch ErrorAction(v.Value) {
		case Drop, Stop:
			pol.Action = ErrorAction(v.Value)
		case DeadLetter:
			d.errorf(v, "spec.onError", "dead-letter needs a topic: write onError: {dead-letter: <topic>}")
		default:
			d.errorf(v, "spec.onError", "%s, got %s", want, describe(v))
		}
	case yaml.MappingNode:
		eo := d.object(v, "spec.onError", string(DeadLetter))
		if t := eo.scalar(string(DeadLetter), true, "the dead-letter topic"); t != nil {
			pol.Action, pol.Topic, pol.Pos = DeadLetter, t.Value, d.pos(t)
			d.topicName(t, "spec.onError.dead-letter")
		}
	default:
		d.errorf(v, "spec.onError", "%s, got %s", want, describe(v))
	}
	return pol
}

func (d *decoder) limits(n *yaml.Node) Limits {
	l := Limits{MaxNodes: DefaultMaxNodes, MemoryBudget: DefaultMemoryBudget, RecordTimeout: DefaultRecordTimeout}
	o := d.object(n, "spec.limits", "maxNodes", "memoryBudget", "recordTimeout")
	if o == nil {
		return l
	}
	l.MaxNodes = o.integer("maxNodes", DefaultMaxNodes, 1, 100_000)
	l.MemoryBudget = o.integer("memoryBudget", DefaultMemoryBudget, 1, 1<<30)
	l.RecordTimeout = o.duration("recordTimeout", DefaultRecordTimeout)
	return l
}

func (d *decoder) delivery(o *object, p *Pipeline) {
	v := o.scalar("delivery", false, "exactly-once or at-least-once")
	if v == nil {
		p.Delivery = AtLeastOnce
		if p.TopicToTopic() {
			p.Delivery = ExactlyOnce
		}
		return
	}
	p.Delivery = Delivery(v.Value)
	switch p.Delivery {
	case AtLeastOnce:
	case ExactlyOnce:
		if !p.TopicToTopic() {
			d.errorf(v, "spec.delivery", "exactly-once needs topics as input and as every output; with connectors use at-least-once")
		}
	default:
		d.errorf(v, "spec.delivery", "want exactly-once or at-least-once, got %s", describe(v))
	}
}

// checkPipeline checks what involves several fields: output names, route
// targets, and topics that would feed a pipeline its own output.
func (d *decoder) checkPipeline(p *Pipeline) {
	names := map[string]Output{}
	topics := map[string]Output{}
	for i, out := range p.Outputs {
		path := index("spec.outputs", i)
		if prev, dup := names[out.Name]; dup && out.Name != "" {
			d.probs.Add(out.NamePos, path, "output name %q is already used by the output at %d:%d; give each output a distinct name", out.Name, prev.Pos.Line, prev.Pos.Col)
		}
		names[out.Name] = out
		if out.Topic == "" {
			continue
		}
		if prev, dup := topics[out.Topic]; dup {
			d.probs.Add(out.TopicPos, path, "topic %q is already the output at %d:%d; records would be written twice", out.Topic, prev.Pos.Line, prev.Pos.Col)
		}
		topics[out.Topic] = out
		for _, in := range p.Input.Topics {
			if in.Name == out.Topic {
				d.probs.Add(out.TopicPos, path, "topic %q is also an input: the pipeline would consume its own output", out.Topic)
			}
		}
	}
	if p.OnError.Action == DeadLetter {
		for _, in := range p.Input.Topics {
			if in.Name == p.OnError.Topic {
				d.probs.Add(p.OnError.Pos, "spec.onError.dead-letter", "topic %q is also an input: failed records would be consumed again", in.Name)
			}
		}
	}
	known := make([]string, 0, len(p.Outputs))
	for _, out := range p.Outputs {
		known = append(known, out.Name)
	}
	for _, pr := range p.Processors {
		if pr.Route == nil {
			continue
		}
		for _, c := range pr.Route.Cases {
			for _, to := range c.To {
				if _, ok := names[to.Name]; !ok {
					d.probs.Add(to.Pos, pr.Path, "route to %q: no output has that name (outputs: %s)%s", to.Name, strings.Join(known, ", "), suggestOnly(to.Name, known))
				}
			}
		}
	}
}

// suggestOnly is suggest without the list of known names.
func suggestOnly(name string, known []string) string {
	s := suggest(name, known)
	if strings.HasPrefix(s, " (did you mean") {
		return s
	}
	return ""
}

// String summarises a pipeline in one line, for logs.
func (p *Pipeline) String() string {
	var in []string
	for _, t := range p.Input.Topics {
		in = append(in, t.Name)
	}
	if p.Input.Connector != nil {
		in = append(in, "connector "+p.Input.Connector.Plugin)
	}
	var out []string
	for _, o := range p.Outputs {
		out = append(out, o.Name)
	}
	return fmt.Sprintf("%s -> %d processors -> %s (%s, parallelism %d, on error %s)",
		strings.Join(in, ","), len(p.Processors), strings.Join(out, ","), p.Delivery, p.Parallelism, p.OnError.Action)
}
