package process

import (
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/pipelines/spec"
)

// compileYAML compiles a pipeline whose processors (and optionally more spec
// fields) are given as YAML lines, indented for a list under processors.
func compileYAML(t testing.TB, processors string, more ...string) *Program {
	t.Helper()
	p, probs := tryCompile(processors, more...)
	if len(probs) > 0 {
		t.Fatalf("compile:\n%v", probs)
	}
	return p
}

func tryCompile(processors string, more ...string) (*Program, spec.Problems) {
	src := "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  input: {topics: [in]}\n" +
		"  outputs:\n    - {name: a, topic: ta}\n    - {name: b, topic: tb}\n" + strings.Join(more, "") +
		"  processors:\n" + processors
	ms, probs := spec.Parse("t.yaml", []byte(src))
	if len(probs) > 0 {
		return nil, probs
	}
	return Compile("p", ms[0].Pipeline)
}

// msg is a record read from topic in, partition 0, at offset.
func msg(offset int64, key, value string) *Message {
	var k []byte
	if key != "" {
		k = []byte(key)
	}
	m := NewMessage(k, []byte(value))
	m.Topic, m.Offset = "in", offset
	m.Timestamp = time.UnixMilli(1_700_000_000_000 + offset).UTC()
	return m
}

func valueText(t *testing.T, m *Message) string {
	t.Helper()
	b, err := m.ValueBytes()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
