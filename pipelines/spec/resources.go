package spec

import (
	"gopkg.in/yaml.v3"
)

// Topic is the spec of a Topic manifest.
type Topic struct {
	// Partitions is the partition count; -1 (the default) takes the
	// broker's num.partitions.
	Partitions int
	// ReplicationFactor is the replica count; -1 (the default) takes the
	// broker's default.replication.factor.
	ReplicationFactor int
	// Config holds topic configs such as retention.ms.
	Config StringMap
}

func (d *decoder) topic(n *yaml.Node) *Topic {
	o := d.object(n, "spec", "partitions", "replicationFactor", "config")
	if o == nil {
		return nil
	}
	return &Topic{
		Partitions:        o.integer("partitions", -1, 1, 100000),
		ReplicationFactor: o.integer("replicationFactor", -1, 1, 32),
		Config:            o.stringMap("config"),
	}
}

// ConnectorType says which way a connector moves records.
type ConnectorType string

// The connector types.
const (
	Source ConnectorType = "source"
	Sink   ConnectorType = "sink"
)

// ConnectorRef names a plugin and its configuration, as given inside a
// Connector manifest or inline as a pipeline's input or output.
type ConnectorRef struct {
	Plugin    string
	PluginPos Pos
	// Config is given to the plugin as strings, the form its config spec
	// parses; a list is joined with commas.
	Config StringMap
	// Pos is where the reference starts; Path names it in messages.
	Pos  Pos
	Path string
}

// Connector is the spec of a Connector manifest: a plugin moving records
// from an external system into a topic (source) or out of topics (sink).
type Connector struct {
	ConnectorRef
	Type ConnectorType
	// Topic is where a source writes.
	Topic Named
	// Topics are what a sink reads.
	Topics []Named
}

func (d *decoder) connectorRef(o *object, path string) ConnectorRef {
	ref := ConnectorRef{Path: path}
	if o == nil {
		return ref
	}
	ref.Pos = d.pos(o.n)
	ref.Plugin = o.str("plugin", true, "the plugin's name")
	ref.PluginPos = o.pos("plugin")
	if v := o.node("plugin"); v != nil && ref.Plugin != "" && !nameRE.MatchString(ref.Plugin) {
		d.errorf(v, o.sub("plugin"), "%q is not a plugin name", clip(ref.Plugin))
	}
	ref.Config = o.stringMap("config")
	return ref
}

func (d *decoder) connector(n *yaml.Node) *Connector {
	o := d.object(n, "spec", "plugin", "type", "topic", "topics", "config")
	if o == nil {
		return nil
	}
	c := &Connector{ConnectorRef: d.connectorRef(o, "spec")}
	c.Type = ConnectorType(o.str("type", true, "source or sink"))
	switch v := o.node("type"); {
	case v == nil:
	case c.Type != Source && c.Type != Sink:
		d.errorf(v, "spec.type", "unknown connector type %q: want source or sink", clip(string(c.Type)))
	case c.Type == Source:
		if o.has("topics") {
			d.errorf(o.keys["topics"], "spec.topics", "a source writes to one topic: use topic, not topics")
		}
		if v := o.scalar("topic", true, "the topic the source writes to"); v != nil {
			c.Topic = Named{Name: v.Value, Pos: d.pos(v)}
			d.topicName(v, "spec.topic")
		}
	case c.Type == Sink:
		if o.has("topic") {
			d.errorf(o.keys["topic"], "spec.topic", "a sink reads a list of topics: use topics, not topic")
		}
		c.Topics = o.names("topics", true, "the topics the sink reads")
		d.topicNames(c.Topics, "spec.topics")
	}
	return c
}

// topicName reports a scalar that is not a legal topic name.
func (d *decoder) topicName(v *yaml.Node, path string) {
	if err := checkTopicName(v.Value); err != nil {
		d.errorf(v, path, "%v", err)
	}
}

func (d *decoder) topicNames(names []Named, path string) {
	seen := map[string]bool{}
	for _, n := range names {
		if err := checkTopicName(n.Name); err != nil {
			d.probs.Add(n.Pos, path, "%v", err)
		}
		if seen[n.Name] {
			d.probs.Add(n.Pos, path, "topic %q is listed twice", n.Name)
		}
		seen[n.Name] = true
	}
}
