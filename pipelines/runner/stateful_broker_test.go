package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/runner"
	"github.com/tributary-io/tributary/platform/nodetest"
	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/examples"
)

// bin is the tributary binary, built once: the tests below run a node of
// it as their broker, and `tributary pipeline run` for the restart test.
var bin *nodetest.Binary

func TestMain(m *testing.M) {
	bin = nodetest.MustBuild()
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

func startBroker(t *testing.T) string {
	t.Helper()
	return bin.StartNode(t, nodetest.Name("broker"), nodetest.Flags("--worker-disabled")).Kafka()
}

func client(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RetryTimeout(30 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func topics(t *testing.T, addr string, partitions int32, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(client(t, addr)).CreateTopics(ctx, partitions, 1, nil, names...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("create topics %v: %v", names, err)
	}
}

func produceAll(t *testing.T, addr string, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := client(t, addr, kgo.ProducerLinger(5*time.Millisecond)).ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// readAll returns the committed records of topic, reading from the start
// until three polls in a row return nothing.
func readAll(t *testing.T, addr, topic string) []*kgo.Record {
	t.Helper()
	cl := client(t, addr, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(time.Minute)
	for idle := 0; idle < 3 && time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := len(out)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
		if len(out) == n {
			idle++
		} else {
			idle = 0
		}
	}
	return out
}

// waitFor polls cond every 100ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startPipeline runs a stateful manifest with a 6s session until the test
// ends, when it stops it and checks Run returned nil.
func startPipeline(t *testing.T, addr, manifest, instance string) *runner.Runner {
	t.Helper()
	r := newRunner(t, addr, manifest, instance, 6*time.Second)
	if !r.Stateful() {
		t.Fatal("the runner does not run the pipeline as stateful")
	}
	runUntilCleanup(t, r)
	return r
}

// newRunner loads a manifest the way `tributary pipeline run` and the
// workers do (pipelines.LoadBytes, Bundle.Pipeline, runner.New).
func newRunner(t *testing.T, addr, manifest, instance string, session time.Duration) *runner.Runner {
	t.Helper()
	b, probs := pipelines.LoadBytes(context.Background(), "p.yaml", []byte(manifest), pipelines.Options{})
	if len(probs) > 0 {
		t.Fatalf("manifest: %v", probs)
	}
	m, prog, err := b.Pipeline("")
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(runner.Config{
		Name: m.Name, Spec: m.Pipeline, Program: prog, Seeds: []string{addr}, InstanceID: instance,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SessionTimeout: session,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runUntilCleanup runs r until the test ends, then stops it and checks Run
// returned nil within 30s.
func runUntilCleanup(t *testing.T, r *runner.Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("pipeline run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the pipeline did not stop within 30s")
		}
	})
}

const windowManifest = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: views-per-user}
spec:
  input: {topics: [views]}
  processors:
    - set: {timestamp: value.at}
    - window: {type: tumbling, size: 5m, grace: 1m, emit: final}
    - aggregate: {key: value.user, op: count}
  outputs: [{topic: views-yaml}]
  parallelism: 2
`

type win struct {
	user       string
	start, end int64
}

// TestWindowManifestMatchesGoDSL: a manifest with a tumbling-window count,
// run by the runner against a broker, writes exactly the windows the same
// topology written with the Go DSL (streams/examples.PageViewsPerUser)
// writes on the same input, and both equal a direct computation.
func TestWindowManifestMatchesGoDSL(t *testing.T) {
	addr := startBroker(t)
	topics(t, addr, 1, "views", "views-yaml", "views-go")
	// Records arrive up to 30s out of order (within the 1m grace); every
	// 500th is 20 minutes late, far past its window's close. A last view
	// an hour later closes every window.
	const n = 4000
	var recs []*kgo.Record
	want := map[win]int64{}
	late := 0
	for i := range n {
		at := int64(1_000_000 + i*1_000 - (i*7919)%30_000)
		if i%500 == 499 {
			at -= 20 * 60_000
			late++
		}
		user := "u" + strconv.Itoa(i*31%7)
		if i%500 != 499 {
			start := at - at%300_000
			want[win{user, start, start + 300_000}]++
		}
		v, _ := json.Marshal(examples.PageView{User: user, Page: "/", At: at})
		recs = append(recs, &kgo.Record{Topic: "views", Value: v})
	}
	v, _ := json.Marshal(examples.PageView{User: "closer", Page: "/", At: 1_000_000 + n*1_000 + 3_600_000})
	recs = append(recs, &kgo.Record{Topic: "views", Value: v})
	produceAll(t, addr, recs...)

	r := startPipeline(t, addr, windowManifest, "a")
	b := streams.NewBuilder()
	examples.PageViewsPerUser(b, "views", "views-go", time.Minute)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := streams.New(top, streams.Config{ApplicationID: "views-go-dsl", Brokers: []string{addr}, SessionTimeout: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	appDone := make(chan error, 1)
	go func() { appDone <- app.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-appDone; err != nil {
			t.Errorf("Go DSL app: %v", err)
		}
	}()

	yamlWindows := func() map[win]int64 {
		got := map[win]int64{}
		for _, rec := range readAll(t, addr, "views-yaml") {
			var v struct {
				Key        string
				Start, End int64
				Value      int64
			}
			if err := json.Unmarshal(rec.Value, &v); err != nil || v.Key != string(rec.Key) {
				t.Fatalf("YAML output %s=%s: %v", rec.Key, rec.Value, err)
			}
			w := win{v.Key, v.Start, v.End}
			if _, dup := got[w]; dup {
				t.Fatalf("window %v emitted twice", w)
			}
			got[w] = v.Value
		}
		return got
	}
	goWindows := func() map[win]int64 {
		got := map[win]int64{}
		ks, vs := streams.WindowedSerde(streams.String()), streams.Int64()
		for _, rec := range readAll(t, addr, "views-go") {
			k, err1 := ks.Decode(rec.Key)
			c, err2 := vs.Decode(rec.Value)
			if err1 != nil || err2 != nil {
				t.Fatalf("Go output: %v %v", err1, err2)
			}
			w := win{k.Key, k.Start, k.End}
			if _, dup := got[w]; dup {
				t.Fatalf("Go DSL: window %v emitted twice", w)
			}
			got[w] = c
		}
		return got
	}
	waitFor(t, 90*time.Second, "every window from both", func() bool {
		return len(yamlWindows()) >= len(want) && len(goWindows()) >= len(want)
	})
	got, gotGo := yamlWindows(), goWindows()
	if !maps.Equal(got, want) || !maps.Equal(gotGo, want) {
		t.Fatalf("windows: manifest %d, Go DSL %d, computed %d; manifest==computed %v, Go==computed %v",
			len(got), len(gotGo), len(want), maps.Equal(got, want), maps.Equal(gotGo, want))
	}
	// Records processed again after an aborted transaction (the second
	// instance joining rebalances the group) are counted again.
	s := r.Stats()
	if s.In < n+1 || s.Late < uint64(late) || s.Errors != 0 || s.Batches == 0 {
		t.Fatalf("stats: %+v, want at least %d in and %d late", s, n+1, late)
	}
	if gs := app.Stats(); gs.Late < int64(late) {
		t.Fatalf("Go DSL late %d, want at least %d", gs.Late, late)
	}
	t.Logf("%d windows equal (manifest, Go DSL, computed); %d late records dropped by both; %d transactions", len(want), late, s.Batches)
}

const joinManifest = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: orders-enriched}
spec:
  input: {topics: [orders]}
  processors:
    - filter: value.amount > 0
    - join: {table: customers, key: value.customer, as: customer}
    - map:
        value: '{"order": value.id, "amount": value.amount, "country": value.customer?.country ?? "unknown"}'
  outputs: [{topic: orders-enriched}]
`

// TestJoinManifestEnrichesOrders: orders keyed by order id are joined with
// a customers table topic by value.customer (a repartition by that key
// first), between a filter and a map; the output equals a direct
// computation, and the join's table answers through the store handler.
func TestJoinManifestEnrichesOrders(t *testing.T) {
	addr := startBroker(t)
	topics(t, addr, 3, "orders", "customers", "orders-enriched")
	countries := []string{"fr", "de", "jp", "br"}
	var customers []*kgo.Record
	for c := range 40 {
		v, _ := json.Marshal(map[string]any{"name": "c" + strconv.Itoa(c), "country": countries[c%len(countries)]})
		customers = append(customers, &kgo.Record{Topic: "customers", Key: []byte("c" + strconv.Itoa(c)), Value: v})
	}
	produceAll(t, addr, customers...)
	r := startPipeline(t, addr, joinManifest, "a")
	srv := httptest.NewServer(r.StoreHandler())
	defer srv.Close()
	// The table is read alongside the orders: wait until it holds every
	// customer, so the reference below (which knows them all) applies.
	waitFor(t, 60*time.Second, "the customers table loaded", func() bool {
		for c := range 40 {
			resp, err := http.Get(srv.URL + "/tables/customers/keys/c" + strconv.Itoa(c))
			if err != nil {
				return false
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false
			}
		}
		return true
	})
	var orders []*kgo.Record
	want := map[int]string{}
	for i := range 2000 {
		cust := "c" + strconv.Itoa(i*13%45) // c40..c44 have no row
		amount := i%10 - 1                  // -1 and 0 are filtered out
		v, _ := json.Marshal(map[string]any{"id": i, "customer": cust, "amount": amount})
		orders = append(orders, &kgo.Record{Topic: "orders", Key: []byte(strconv.Itoa(i)), Value: v})
		if amount > 0 {
			country := "unknown"
			if n, _ := strconv.Atoi(cust[1:]); n < 40 {
				country = countries[n%len(countries)]
			}
			want[i] = fmt.Sprintf(`{"amount":%d,"country":%q,"order":%d}`, amount, country, i)
		}
	}
	produceAll(t, addr, orders...)
	var got []*kgo.Record
	waitFor(t, 90*time.Second, "every enriched order", func() bool {
		got = readAll(t, addr, "orders-enriched")
		return len(got) >= len(want)
	})
	seen := map[int]string{}
	for _, rec := range got {
		var v struct{ Order int }
		if err := json.Unmarshal(rec.Value, &v); err != nil {
			t.Fatalf("output %s: %v", rec.Value, err)
		}
		if _, dup := seen[v.Order]; dup {
			t.Fatalf("order %d written twice", v.Order)
		}
		seen[v.Order] = string(rec.Value)
	}
	if !maps.Equal(seen, want) {
		for i, w := range want {
			if seen[i] != w {
				t.Fatalf("%d enriched orders, want %d; order %d: got %s, want %s", len(seen), len(want), i, seen[i], w)
			}
		}
		t.Fatalf("%d enriched orders, want %d", len(seen), len(want))
	}
	// The output is keyed by the join key: the customer.
	for _, rec := range got[:10] {
		var v struct{ Order int }
		_ = json.Unmarshal(rec.Value, &v)
		if want := "c" + strconv.Itoa(v.Order*13%45); string(rec.Key) != want {
			t.Fatalf("order %d keyed %q, want %q", v.Order, rec.Key, want)
		}
	}
	if s := r.Stats(); s.In != 2000 || s.Filtered != 400 || s.Out != uint64(len(want)) {
		t.Fatalf("stats %+v: want 2000 in, 400 filtered, %d out", s, len(want))
	}
	t.Logf("%d orders enriched, equal to the reference", len(want))
}

const countManifest = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: word-totals}
spec:
  input: {topics: [words]}
  processors:
    - aggregate: {key: value.word, op: count}
  outputs: [{topic: word-totals}]
  parallelism: 2
`

// TestRestartMidStreamExactlyOnce: `tributary pipeline run` with a count
// aggregate is killed with SIGKILL while input arrives, and restarted; the
// read_committed output holds, for every key, each count from 1 to the
// key's total exactly once, as one run without failures writes.
func TestRestartMidStreamExactlyOnce(t *testing.T) {
	addr := startBroker(t)
	topics(t, addr, 3, "words", "word-totals")
	file := t.TempDir() + "/p.yaml"
	if err := os.WriteFile(file, []byte(countManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() *nodetest.Process {
		return bin.Start(t, "pipeline", "pipeline", "run", "-f", file, "--bootstrap", addr, "--instance", "a",
			"--session-timeout", "6s", "--stats-interval", "0")
	}
	// A consumer counts committed outputs as they come, so a kill can be
	// timed to land while a batch is being processed.
	var seen atomic.Int64
	counter := client(t, addr, kgo.ConsumeTopics("word-totals"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	ctx, stopCounting := context.WithCancel(context.Background())
	counted := make(chan struct{})
	go func() {
		defer close(counted)
		for ctx.Err() == nil {
			seen.Add(int64(counter.PollFetches(ctx).NumRecords()))
		}
	}()
	defer func() { stopCounting(); <-counted }()
	const batches, perBatch = 6, 3000
	totals := map[string]int64{}
	p := run()
	kills := 0
	for b := range batches {
		var recs []*kgo.Record
		for i := range perBatch {
			w := "w" + strconv.Itoa((b*perBatch+i)*7%97)
			totals[w]++
			recs = append(recs, &kgo.Record{Topic: "words", Key: []byte(strconv.Itoa(i)), Value: []byte(`{"word":"` + w + `"}`)})
		}
		produceAll(t, addr, recs...)
		if b == 1 || b == 3 {
			// Kill once some of this batch is committed, before all of it
			// is when the timing allows: mid-stream, with work in flight.
			waitFor(t, 60*time.Second, "progress before the kill", func() bool { return seen.Load() > int64(b*perBatch) })
			if seen.Load() < int64((b+1)*perBatch) {
				kills++
			}
			p.Kill()
			p = run()
		}
	}
	total := batches * perBatch
	var out []*kgo.Record
	waitFor(t, 120*time.Second, "every count", func() bool {
		out = readAll(t, addr, "word-totals")
		return len(out) >= total
	})
	if _, err := p.Stop(30 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	counts := map[string][]int64{}
	for _, rec := range out {
		var v struct {
			Key   string
			Value int64
		}
		if err := json.Unmarshal(rec.Value, &v); err != nil {
			t.Fatalf("output %s: %v", rec.Value, err)
		}
		counts[v.Key] = append(counts[v.Key], v.Value)
	}
	if len(out) != total || len(counts) != len(totals) {
		t.Fatalf("%d outputs for %d keys, want %d for %d", len(out), len(counts), total, len(totals))
	}
	for k, n := range totals {
		got := slices.Clone(counts[k])
		slices.Sort(got)
		for i, c := range got {
			if c != int64(i+1) {
				t.Fatalf("key %s: counts %v, want 1..%d once each", k, counts[k], n)
			}
		}
		if int64(len(got)) != n {
			t.Fatalf("key %s: final count %d, want %d", k, len(got), n)
		}
	}
	t.Logf("%d records, 2 SIGKILLs (%d with the batch half done): %d keys, every count 1..total exactly once", total, kills, len(totals))
}

const appliedManifest = `apiVersion: tributary.io/v1
kind: Topic
metadata: {name: clicks}
spec: {partitions: 2}
---
apiVersion: tributary.io/v1
kind: Topic
metadata: {name: clicks-per-page}
spec: {partitions: 2}
---
apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: clicks-per-page}
spec:
  input: {topics: [clicks]}
  processors:
    - aggregate: {key: value.page, op: count}
  outputs: [{topic: clicks-per-page}]
`

// TestApplyStatefulPipeline: `tributary apply` deploys a stateful pipeline
// to a node's worker, which runs it; its output and its state over the HTTP
// API (GET /pipelines/{name}/state/keys/{key}) hold the counts.
func TestApplyStatefulPipeline(t *testing.T) {
	node := bin.StartNode(t, nodetest.Name("node"), nodetest.Flags("--groups-min-session-timeout", "1s"))
	file := t.TempDir() + "/clicks.yaml"
	if err := os.WriteFile(file, []byte(appliedManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	res := bin.Run(t, nil, "apply", "-f", file, "--server", node.HTTP(), "--bootstrap", node.Kafka())
	if res.Code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	want := map[string]int64{}
	var recs []*kgo.Record
	for i := range 500 {
		page := "/p" + strconv.Itoa(i*i%11)
		want[page]++
		recs = append(recs, &kgo.Record{Topic: "clicks", Value: []byte(`{"page":"` + page + `"}`)})
	}
	produceAll(t, node.Kafka(), recs...)
	waitFor(t, 90*time.Second, "every count in the output", func() bool { return len(readAll(t, node.Kafka(), "clicks-per-page")) >= 500 })
	state := func(page string) (int64, bool) {
		resp, err := http.Get("http://" + node.HTTP() + "/pipelines/clicks-per-page/state/keys/" + url.PathEscape(page))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var v struct{ Value int64 }
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil {
			return 0, false
		}
		return v.Value, true
	}
	for page, n := range want {
		got, ok := state(page)
		if !ok || got != n {
			t.Fatalf("state of %s: %d (found %v), want %d", page, got, ok, n)
		}
	}
	if _, ok := state("/nowhere"); ok {
		t.Fatal("a key never seen has state")
	}
	t.Logf("applied; %d pages counted, output and HTTP state agree", len(want))
}
