package deploy

import (
	"maps"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/pipelines/spec"
)

const bridgedManifest = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: feed}
spec:
  input:
    connector: {plugin: postgres, config: {host: db, tables: [a, b]}}
  processors:
    - route: '"archive"'
  outputs:
    - topic: changes
    - name: archive
      connector: {plugin: file, config: {dir: /tmp/x}}
  parallelism: 3
`

// TestBridgeOfPipelineWithConnectors: the connector input and output of a
// pipeline become connector units of its spec with bridge topics; the
// runner gets the pipeline with those topics in their place.
func TestBridgeOfPipelineWithConnectors(t *testing.T) {
	s := &Spec{Kind: KindPipeline, Name: "feed", Manifest: bridgedManifest, Paused: true, Restarts: 2}
	b := bridgeOf(s)
	if b == nil || len(b.conns) != 2 || len(b.topics) != 2 {
		t.Fatalf("bridge = %+v, want two connectors and two topics", b)
	}
	src, sink := b.conns[0], b.conns[1]
	wantSrc := map[string]string{connect.KeyPlugin: "postgres", connect.KeyType: "source", connect.KeyTopic: "pipeline.feed.source", "host": "db", "tables": "a,b"}
	wantSink := map[string]string{connect.KeyPlugin: "file", connect.KeyType: "sink", connect.KeyTopics: "pipeline.feed.sink.archive", "dir": "/tmp/x"}
	if src.Name != "pipeline.feed.source" || src.Kind != KindConnector || !maps.Equal(src.Config, wantSrc) {
		t.Errorf("source = %s %+v", src.Name, src.Config)
	}
	if sink.Name != "pipeline.feed.sink.archive" || !maps.Equal(sink.Config, wantSink) {
		t.Errorf("sink = %s %+v", sink.Name, sink.Config)
	}
	if !src.Paused || !sink.Paused || src.Restarts != 2 || sink.Restarts != 2 {
		t.Errorf("the connectors do not follow the pipeline's pause and restarts: %+v %+v", src, sink)
	}
	if b.topics[0] != (bridgeTopic{"pipeline.feed.source", 3}) || b.topics[1] != (bridgeTopic{"pipeline.feed.sink.archive", 1}) {
		t.Errorf("topics = %+v, want the source's with the pipeline's parallelism, the sink's with one partition", b.topics)
	}
	for _, c := range b.conns {
		if _, probs := connect.Parse(c.Name, c.Config); len(probs) > 0 {
			t.Errorf("connector %s: %v", c.Name, probs)
		}
	}

	s.bridge = b // as applySpec does
	var ids []string
	for _, u := range unitsOf(s) {
		ids = append(ids, u.id)
		if len(u.topics) != 2 {
			t.Errorf("unit %s does not know the bridge topics", u.id)
		}
	}
	if got := strings.Join(ids, " "); got != "pipeline/feed connector/pipeline.feed.source/0 connector/pipeline.feed.sink.archive/0" {
		t.Errorf("units = %s", got)
	}

	ms, probs := parseManifest(t, s)
	run := topicToTopic("feed", ms)
	if !run.TopicToTopic() || len(run.Input.Topics) != 1 || run.Input.Topics[0].Name != "pipeline.feed.source" {
		t.Fatalf("runner's pipeline input = %+v (problems %v)", run.Input, probs)
	}
	if run.Outputs[0].Topic != "changes" || run.Outputs[1].Topic != "pipeline.feed.sink.archive" || run.Outputs[1].Name != "archive" {
		t.Errorf("runner's pipeline outputs = %+v", run.Outputs)
	}
	if ms.Input.Connector == nil || ms.Outputs[1].Connector == nil {
		t.Error("topicToTopic changed the pipeline it was given")
	}

	plain := &Spec{Kind: KindPipeline, Name: "plain", Manifest: "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: plain}\nspec: {input: {topics: [a]}, outputs: [{topic: b}]}\n"}
	if b := bridgeOf(plain); b != nil || len(unitsOf(plain)) != 1 {
		t.Errorf("a topic-to-topic pipeline got a bridge %+v", b)
	}
}

func TestBridgeName(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, tc := range []struct{ pipeline, part, want string }{
		{"feed", "source", "pipeline.feed.source"},
		{"feed", "sink.archive", "pipeline.feed.sink.archive"},
		{long, "source", "pipeline." + long[:45] + "-"},
	} {
		got := BridgeName(tc.pipeline, tc.part)
		if !strings.HasPrefix(got, tc.want) || len(got) > 63 {
			t.Errorf("BridgeName(%q, %q) = %q, want %q...", tc.pipeline, tc.part, got, tc.want)
		}
		if _, probs := connect.Parse(got, map[string]string{connect.KeyPlugin: "p", connect.KeyType: "source", connect.KeyTopic: got}); len(probs) > 0 {
			t.Errorf("%q is not a valid connector: %v", got, probs)
		}
	}
	if BridgeName(long, "sink.x") == BridgeName(long, "sink.y") {
		t.Error("shortened names of two outputs are the same")
	}
}

func parseManifest(t *testing.T, s *Spec) (*spec.Pipeline, spec.Problems) {
	t.Helper()
	ms, probs := spec.Parse("pipeline/"+s.Name, []byte(s.Manifest))
	if len(ms) != 1 || ms[0].Pipeline == nil {
		t.Fatalf("manifest of %s: %v", s.Name, probs)
	}
	return ms[0].Pipeline, probs
}
