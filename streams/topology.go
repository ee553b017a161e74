package streams

import (
	"errors"
	"fmt"
	"sort"
)

// rec is a record flowing between processors inside a task: a typed key and
// value (erased to any) and its event time in Unix milliseconds. A nil value
// on a table's change stream is a deletion.
type rec struct {
	key, value any
	ts         int64
}

// proc is one processor instance inside one task.
type proc interface{ process(r rec) error }

type procFunc func(r rec) error

func (f procFunc) process(r rec) error { return f(r) }

// forward passes a record to every child of a processor.
type forward func(r rec) error

// node is a processor in the topology graph. build makes its instance for
// one task, given the function that forwards to its children.
type node struct {
	id       int
	name     string
	children []*node
	// source nodes: the topics they read and how to decode them.
	topics []string
	// internal marks topics owned by the application (repartition topics),
	// whose names get the application id as a prefix.
	internal bool
	keyDec   func([]byte) (any, error)
	valDec   func([]byte) (any, error)
	// stores are the state stores the processor reads or writes; nodes
	// sharing a store run in the same sub-topology.
	stores []*storeDef
	build  func(tc *taskCtx, fwd forward) (proc, error)
}

func (n *node) isSource() bool { return len(n.topics) > 0 }

// storeKind says how a store lays out its keys.
type storeKind int

const (
	kvStoreKind storeKind = iota
	windowStoreKind
	sessionStoreKind
)

// storeDef declares a state store; every store has a changelog topic named
// "<application id>-<store name>-changelog".
type storeDef struct {
	name string
	kind storeKind
	// valueSerde and keySerde let interactive queries decode entries.
	keySerde, valueSerde anySerde
	// windowSize is the window length of a window store, in ms.
	windowSize int64
}

// Builder collects a topology. It is not safe for concurrent use. Errors in
// the definition (a duplicate store name, a missing serde) are kept and
// returned by Build, so the DSL chains without error checks.
type Builder struct {
	nodes  []*node
	stores map[string]*storeDef
	names  map[string]bool
	errs   []error
	// repartitions are the internal repartition topics (without the
	// application id prefix) the App creates.
	repartitions []string
	// sinks are the topics sink nodes write (internal ones unprefixed).
	sinks []sinkRef
}

type sinkRef struct {
	topic    string
	internal bool
}

// NewBuilder returns an empty topology builder.
func NewBuilder() *Builder {
	return &Builder{stores: map[string]*storeDef{}, names: map[string]bool{}}
}

func (b *Builder) addNode(prefix string, parents []*node, build func(tc *taskCtx, fwd forward) (proc, error)) *node {
	n := &node{id: len(b.nodes), name: fmt.Sprintf("%s-%04d", prefix, len(b.nodes)), build: build}
	b.nodes = append(b.nodes, n)
	for _, p := range parents {
		p.children = append(p.children, n)
	}
	return n
}

func (b *Builder) addStore(def *storeDef) *storeDef {
	if _, dup := b.stores[def.name]; dup {
		b.errs = append(b.errs, fmt.Errorf("streams: store %q is defined twice", def.name))
	}
	b.stores[def.name] = def
	return def
}

// uniqueName returns name, or a generated one when name is empty.
func (b *Builder) uniqueName(name, kind string) string {
	if name == "" {
		name = fmt.Sprintf("%s-%04d", kind, len(b.nodes))
	}
	if b.names[name] {
		b.errs = append(b.errs, fmt.Errorf("streams: name %q is used twice", name))
	}
	b.names[name] = true
	return name
}

// Topology is a built, immutable processor graph split into sub-topologies.
type Topology struct {
	subs         []*subTopology
	stores       map[string]*storeDef
	repartitions []string
	sinks        []sinkRef
}

// subTopology is the part of the graph one task runs.
type subTopology struct {
	id      int
	sources []*node
	stores  []*storeDef
}

// topics returns the topics the sub-topology reads, with internal topics
// named for appID.
func (s *subTopology) topics(appID string) []string {
	var out []string
	for _, src := range s.sources {
		for _, t := range src.topics {
			out = append(out, topicName(appID, t, src.internal))
		}
	}
	return out
}

// topicName returns the broker-side name of a topic: internal topics carry
// the application id so two applications never share one.
func topicName(appID, name string, internal bool) string {
	if internal && appID != "" {
		return appID + "-" + name
	}
	return name
}

// changelogTopic returns the changelog topic of store for appID.
func changelogTopic(appID, store string) string { return appID + "-" + store + "-changelog" }

// Build checks the definition and splits the graph into sub-topologies: the
// connected parts of the processor graph, where two processors are connected
// by an edge or a shared store. Repartition topics are not edges.
func (b *Builder) Build() (*Topology, error) {
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	parent := make([]int, len(b.nodes))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, c int) { parent[find(a)] = find(c) }
	storeOwner := map[string]int{}
	for _, n := range b.nodes {
		for _, c := range n.children {
			union(n.id, c.id)
		}
		for _, s := range n.stores {
			if o, ok := storeOwner[s.name]; ok {
				union(n.id, o)
			} else {
				storeOwner[s.name] = n.id
			}
		}
	}
	byRoot := map[int]*subTopology{}
	var roots []int
	for _, n := range b.nodes {
		r := find(n.id)
		st, ok := byRoot[r]
		if !ok {
			st = &subTopology{}
			byRoot[r] = st
			roots = append(roots, r)
		}
		if n.isSource() {
			st.sources = append(st.sources, n)
		}
	}
	sort.Ints(roots)
	t := &Topology{stores: b.stores, repartitions: b.repartitions, sinks: b.sinks}
	seenTopic := map[string]bool{}
	for _, r := range roots {
		st := byRoot[r]
		if len(st.sources) == 0 {
			continue // a dangling piece with no input never runs
		}
		st.id = len(t.subs)
		for _, src := range st.sources {
			for _, topic := range src.topics {
				key := topicName("x", topic, src.internal)
				if seenTopic[key] {
					return nil, fmt.Errorf("streams: topic %q is read by two sources", topic)
				}
				seenTopic[key] = true
			}
		}
		for name, owner := range storeOwner {
			if find(owner) == r {
				st.stores = append(st.stores, b.stores[name])
			}
		}
		sort.Slice(st.stores, func(i, j int) bool { return st.stores[i].name < st.stores[j].name })
		t.subs = append(t.subs, st)
	}
	if len(t.subs) == 0 {
		return nil, errors.New("streams: the topology has no source")
	}
	return t, nil
}

// Describe returns a human-readable outline: each sub-topology, its input
// topics and stores.
func (t *Topology) Describe() string {
	out := ""
	for _, s := range t.subs {
		out += fmt.Sprintf("sub-topology %d: topics %v", s.id, s.topics("<app>"))
		for _, st := range s.stores {
			out += " store " + st.name
		}
		out += "\n"
	}
	return out
}
