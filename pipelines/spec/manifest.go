package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// APIVersion is the only apiVersion manifests may declare.
const APIVersion = "tributary.io/v1"

// Kind is what a manifest declares.
type Kind string

// The kinds of manifest.
const (
	KindTopic     Kind = "Topic"
	KindConnector Kind = "Connector"
	KindPipeline  Kind = "Pipeline"
)

var kinds = []string{string(KindTopic), string(KindConnector), string(KindPipeline)}

// Manifest is one parsed document: a Topic, a Connector or a Pipeline.
// Exactly one of Topic, Connector and Pipeline is set, matching Kind.
type Manifest struct {
	APIVersion string
	Kind       Kind
	Name       string
	Labels     StringMap
	// Pos is where the document starts; NamePos where metadata.name is.
	Pos, NamePos Pos

	Topic     *Topic
	Connector *Connector
	Pipeline  *Pipeline
}

// MaxDocumentBytes bounds one manifest file; a bigger one is refused
// whole, so a stray huge file cannot exhaust memory.
const MaxDocumentBytes = 4 << 20

var (
	// nameRE is a name for connectors and pipelines: it becomes part of
	// consumer group and transactional ids, so it is kept DNS-like.
	nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$`)
	// topicRE is Kafka's rule for topic names.
	topicRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
)

// checkTopicName reports why name is not a legal Kafka topic name.
func checkTopicName(name string) error {
	switch {
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a topic name", name)
	case !topicRE.MatchString(name):
		return fmt.Errorf("%q is not a topic name: use 1 to 249 letters, digits, '.', '_' or '-'", clip(name))
	}
	return nil
}

// Parse reads every manifest of one file. Empty documents are skipped. The
// problems cover the whole file; manifests with problems are still returned
// as far as they could be read, so later checks can report more.
func Parse(file string, data []byte) ([]*Manifest, Problems) {
	d := &decoder{file: file}
	if len(data) > MaxDocumentBytes {
		d.probs.Add(Pos{File: file}, "", "file is %d bytes; manifests files are limited to %d", len(data), MaxDocumentBytes)
		return nil, d.probs
	}
	d.lines = strings.Split(string(data), "\n")
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*Manifest
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.syntax(err)
			break
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
			continue // an empty document, as after a trailing ---
		}
		if m := d.manifest(root); m != nil {
			out = append(out, m)
		}
	}
	return out, d.probs
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlParserErrors are the messages of yaml.v3's parser (as opposed to its
// scanner). For them yaml.v3 reports the line counted from 0, and leaves it
// out when it is 0; scanner errors count from 1.
var yamlParserErrors = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected key",
	"did not find expected node content", "did not find expected <document start>",
	"did not find expected <stream-start>", "found undefined tag handle",
	"found duplicate %TAG directive", "found duplicate %YAML directive",
	"found incompatible YAML document",
}

// syntax turns a yaml.v3 syntax error, which carries a line but no column,
// into a problem at the start of that line.
func (d *decoder) syntax(err error) {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if contains(yamlParserErrors, msg) {
		line++
	}
	pos := Pos{File: d.file}
	if line > 0 {
		pos.Line, pos.Col = line, 1
	}
	d.probs.Add(pos, "", "YAML syntax error: %s", msg)
}

// manifest decodes one document.
func (d *decoder) manifest(root *yaml.Node) *Manifest {
	o := d.object(root, "", "apiVersion", "kind", "metadata", "spec")
	if o == nil {
		return nil
	}
	m := &Manifest{Pos: d.pos(root)}
	m.APIVersion = o.str("apiVersion", true, "the API version, "+APIVersion)
	if v := o.node("apiVersion"); v != nil && m.APIVersion != APIVersion {
		d.errorf(v, "apiVersion", "unknown API version %q: want %s", clip(m.APIVersion), APIVersion)
	}
	kind := o.str("kind", true, "one of "+strings.Join(kinds, ", "))
	m.Kind = Kind(kind)
	known := contains(kinds, kind)
	if v := o.node("kind"); v != nil && !known {
		d.errorf(v, "kind", "unknown kind %q: want one of %s%s", clip(kind), strings.Join(kinds, ", "), suggest(kind, kinds))
	}
	meta := d.object(o.node("metadata"), "metadata", "name", "labels")
	if meta == nil && !o.has("metadata") {
		o.missing("metadata", "a mapping with the name")
	}
	if meta != nil {
		m.Name = meta.str("name", true, "the "+strings.ToLower(kind)+" name")
		m.NamePos = meta.pos("name")
		m.Labels = meta.stringMap("labels")
		if v := meta.node("name"); v != nil && m.Name != "" {
			d.checkName(v, m.Kind, m.Name)
		}
	}
	spec := o.node("spec")
	if spec == nil {
		o.missing("spec", "the "+strings.ToLower(kind)+" spec")
		return m
	}
	switch m.Kind {
	case KindTopic:
		m.Topic = d.topic(spec)
	case KindConnector:
		m.Connector = d.connector(spec)
	case KindPipeline:
		m.Pipeline = d.pipeline(spec)
	}
	return m
}

func (d *decoder) checkName(v *yaml.Node, kind Kind, name string) {
	if kind == KindTopic {
		if err := checkTopicName(name); err != nil {
			d.errorf(v, "metadata.name", "%v", err)
		}
		return
	}
	if !nameRE.MatchString(name) {
		d.errorf(v, "metadata.name", "%q is not a valid name: use 1 to 63 lower-case letters, digits, '.', '_' or '-', starting and ending with a letter or digit", clip(name))
	}
}
