package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/pipelines/spec"
)

// A pipeline whose input is a source connector, or with sink connector
// outputs, runs as parts the workers already know: the source connector
// writes to a bridge topic, the pipeline runs topic to topic from it, and
// each sink connector reads the bridge topic its output writes to. The
// connectors are units of the pipeline's spec (they are paused, restarted
// and deleted with it, and its status covers them); each part keeps its own
// guarantee: the source writes its records and positions in one
// transaction, the pipeline commits its offsets after its outputs, the
// sinks commit after a flush. Bridge topics outlive the pipeline, as the
// topics of Topic manifests do.

// BridgePrefix starts the names of the connectors and topics of pipelines'
// connector inputs and outputs. Connector specs may not use it.
const BridgePrefix = "pipeline."

// maxBridgeName is what connector names may be long (package connect).
const maxBridgeName = 63

// BridgeName is the name of the connector, and of the bridge topic, that
// runs part of pipeline: part is "source" for its input, "sink.<output>"
// for an output. A name longer than connector names may be is shortened,
// with a hash of the whole name keeping it unique.
func BridgeName(pipeline, part string) string {
	name := BridgePrefix + pipeline + "." + part
	if len(name) <= maxBridgeName {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:maxBridgeName-9] + "-" + hex.EncodeToString(sum[:4])
}

// bridge is what a pipeline's connector input and outputs add to it.
type bridge struct {
	// conns are the connector specs: the source first, then the sinks in
	// output order.
	conns []*Spec
	// topics are the bridge topics with their partition counts.
	topics []bridgeTopic
}

type bridgeTopic struct {
	name       string
	partitions int32
}

// bridgeOf returns the connectors and topics of the pipeline spec s, or nil
// when it has no connector (or its manifest does not parse, which Put
// prevents; running it then reports the problems).
func bridgeOf(s *Spec) *bridge {
	ms, probs := spec.Parse("pipeline/"+s.Name, []byte(s.Manifest))
	if len(probs) > 0 {
		return nil
	}
	for _, m := range ms {
		if m.Pipeline != nil && m.Name == s.Name {
			return newBridge(s, m.Pipeline)
		}
	}
	return nil
}

func newBridge(s *Spec, p *spec.Pipeline) *bridge {
	if p.TopicToTopic() {
		return nil
	}
	b := &bridge{}
	add := func(part string, ref *spec.ConnectorRef, keys map[string]string, partitions int) {
		name := BridgeName(s.Name, part)
		cfg := maps.Clone(ref.Config.Values)
		if cfg == nil {
			cfg = map[string]string{}
		}
		maps.Copy(cfg, keys)
		cfg[connect.KeyPlugin] = ref.Plugin
		b.conns = append(b.conns, &Spec{Kind: KindConnector, Name: name, Config: cfg,
			Paused: s.Paused, Restarts: s.Restarts, Updated: s.Updated})
		b.topics = append(b.topics, bridgeTopic{name: name, partitions: int32(partitions)})
	}
	if ref := p.Input.Connector; ref != nil {
		name := BridgeName(s.Name, "source")
		add("source", ref, map[string]string{connect.KeyType: "source", connect.KeyTopic: name}, max(p.Parallelism, 1))
	}
	for _, o := range p.Outputs {
		if o.Connector != nil {
			name := BridgeName(s.Name, "sink."+o.Name)
			add("sink."+o.Name, o.Connector, map[string]string{connect.KeyType: "sink", connect.KeyTopics: name}, 1)
		}
	}
	return b
}

// topicToTopic returns the pipeline called name as the runner runs it: the
// bridge topics in place of its connectors. p itself is not changed.
func topicToTopic(name string, p *spec.Pipeline) *spec.Pipeline {
	if p.TopicToTopic() {
		return p
	}
	run := *p
	if p.Input.Connector != nil {
		run.Input.Connector = nil
		run.Input.Topics = []spec.Named{{Name: BridgeName(name, "source"), Pos: p.Input.Pos}}
	}
	run.Outputs = make([]spec.Output, len(p.Outputs))
	for i, o := range p.Outputs {
		if o.Connector != nil {
			o.Topic, o.TopicPos, o.Connector = BridgeName(name, "sink."+o.Name), o.Pos, nil
		}
		run.Outputs[i] = o
	}
	return &run
}

// ensureBridgeTopics creates the bridge topics that do not exist yet, with
// the broker's default replication factor.
func ensureBridgeTopics(ctx context.Context, cl *kgo.Client, topics []bridgeTopic) error {
	adm := kadm.NewClient(cl)
	for _, t := range topics {
		resp, err := adm.CreateTopic(ctx, t.partitions, -1, nil, t.name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create bridge topic %s: %w", t.name, err)
		}
	}
	return nil
}

// isBridgeName reports whether name is reserved for pipelines' connectors.
func isBridgeName(name string) bool { return strings.HasPrefix(name, BridgePrefix) }
