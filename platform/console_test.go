package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker"
)

// consoleFixture is a running node with what every console page shows:
// topics with messages, a consumer group with lag, a connector and a
// pipeline.
type consoleFixture struct {
	node      *Node
	base      string // http://host:port
	kafka     string
	start     time.Time // before the first message was produced
	pluginDir string
}

const (
	fixTopic     = "orders"
	fixOutTopic  = "orders-copy"
	fixFragile   = "fragile"
	fixGroup     = "billing"
	fixConnector = "tail-app-log"
	fixPipeline  = "orders-copy"
	fixMessages  = 30
	fixConsumed  = 20
)

// buildFilePlugin builds the file connector into a plugin dir.
func buildFilePlugin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "file"), "../connectors/file").CombinedOutput()
	if err != nil {
		t.Fatalf("build the file connector: %v\n%s", err, out)
	}
	return dir
}

func startConsoleFixture(t *testing.T) *consoleFixture {
	t.Helper()
	plugins := buildFilePlugin(t)
	n := startNodeWith(t, Config{
		HTTPAddr: "127.0.0.1:0", Listeners: []string{"127.0.0.1:0"}, DataDir: t.TempDir(), NumPartitions: 3,
		Groups: GroupsConfig{InitialRebalanceDelay: new(time.Duration)},
		Worker: WorkerSection{PluginDir: plugins},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := &consoleFixture{node: n, base: "http://" + n.HTTPAddr().String(), kafka: dialable(n.KafkaAddrs()[0]),
		start: time.Now().Add(-time.Second), pluginDir: plugins}

	cl, err := kgo.NewClient(kgo.SeedBrokers(f.kafka), kgo.DefaultProduceTopic(fixTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{"retention.ms": ptr("86400000")}, fixTopic); err != nil {
		t.Fatalf("create %s: %v", fixTopic, err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, fixOutTopic); err != nil {
		t.Fatalf("create %s: %v", fixOutTopic, err)
	}
	// min.insync.replicas above the replication factor: every partition of
	// this topic is under min ISR, which the cluster page must point out.
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"min.insync.replicas": ptr("2")}, fixFragile); err != nil {
		t.Fatalf("create %s: %v", fixFragile, err)
	}
	recs := make([]*kgo.Record, fixMessages)
	for i := range recs {
		recs[i] = &kgo.Record{Partition: 0, Key: []byte(fmt.Sprintf("order-%02d", i)),
			Value:   []byte(fmt.Sprintf(`{"id":%d,"item":"widget-%02d"}`, i, i)),
			Headers: []kgo.RecordHeader{{Key: "source", Value: []byte("console-test")}}}
	}
	// One partition holds every message, so offsets in the browser are 0..29.
	pcl, err := kgo.NewClient(kgo.SeedBrokers(f.kafka), kgo.DefaultProduceTopic(fixTopic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	if err := pcl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	// The group reads and commits fixConsumed of them, leaving a lag of 10.
	commitOffsets(t, adm, fixGroup, fixTopic, 0, fixConsumed)

	logDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(logDir, "app.log"), []byte("started\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	apiCall(t, f.base, "POST", "/connectors", map[string]any{"name": fixConnector, "config": map[string]string{
		"plugin": "file", "type": "source", "topic": fixOutTopic, "paths": logDir + "/app.log", "poll.interval": "50ms"}}, 201)
	apiCall(t, f.base, "POST", "/pipelines", map[string]any{"name": fixPipeline, "manifest": `apiVersion: tributary.io/v1
kind: Pipeline
metadata:
  name: ` + fixPipeline + `
spec:
  input:
    topics: [` + fixTopic + `]
  processors:
    - parse: json
  outputs:
    - name: copy
      topic: ` + fixOutTopic + `
`}, 201)
	waitFor(t, "connector and pipeline running", func() bool {
		var cs struct {
			Connector struct{ State string } `json:"connector"`
		}
		var ps struct{ State string }
		getJSON(t, f.base+"/connectors/"+fixConnector+"/status", &cs)
		getJSON(t, f.base+"/pipelines/"+fixPipeline+"/status", &ps)
		return strings.EqualFold(cs.Connector.State, "running") && strings.EqualFold(ps.State, "running")
	})
	return f
}

func ptr(s string) *string { return &s }

// commitOffsets commits offset for group on one partition, as a consumer
// that read that far would.
func commitOffsets(t *testing.T, adm *kadm.Client, group, topic string, partition int32, offset int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: topic, Partition: partition, At: offset, LeaderEpoch: -1})
	resp, err := adm.CommitOffsets(ctx, group, offs)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("commit %s offsets: %v", group, err)
	}
}

func apiCall(t *testing.T, base, method, path string, body any, want int) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d\n%s", method, path, resp.StatusCode, want, out)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(v)
}

func fetchPage(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// consolePage is one page to load and what it must show.
type consolePage struct {
	name string // for screenshots: bench-out/console/<name>.png
	path string
	code int
	want []string
	not  []string
}

func consolePages(f *consoleFixture) []consolePage {
	at := f.start.UTC().Format("2006-01-02T15:04:05")
	return []consolePage{
		{name: "cluster", path: "/console/", code: 200, want: []string{
			"Cluster", "controller", "node 1",
			`href="/console/topics/fragile">fragile</a></td><td class="num">0</td><td class="bad">under min ISR (1 in sync, min.insync.replicas=2)`},
			not: []string{"All partitions have a leader", `href="/console/topics/orders">orders</a></td><td class="num">`}},
		{name: "topics", path: "/console/topics", code: 200, want: []string{
			`href="/console/topics/orders"`, fixOutTopic,
			`orders</a></td><td class="num">3</td><td class="num">1</td><td class="num">30</td>`, "1 of 1 partitions need attention"}},
		{name: "topic", path: "/console/topics/orders", code: 200, want: []string{
			"Topic orders", "retention.ms", "86400000",
			// The newest 20 messages by default: offsets 10..29.
			`{"id":29,"item":"widget-29"}`, `{"id":10,"item":"widget-10"}`, "order-29", "source=console-test"},
			not: []string{`{"id":9,"item":"widget-09"}`}},
		{name: "topic-offset", path: "/console/topics/orders?partition=0&offset=5&limit=3", code: 200, want: []string{
			`{"id":5,"item":"widget-05"}`, `{"id":7,"item":"widget-07"}`},
			not: []string{`{"id":4,`, `{"id":8,`}},
		{name: "topic-time", path: "/console/topics/orders?partition=0&time=" + at + "&limit=2", code: 200, want: []string{
			`{"id":0,"item":"widget-00"}`, `{"id":1,"item":"widget-01"}`}, not: []string{`{"id":2,`}},
		{name: "groups", path: "/console/groups", code: 200, want: []string{
			`href="/console/groups/billing"`, `billing</a></td><td>Empty</td><td></td><td class="num">0</td><td class="num">10</td>`}},
		{name: "group", path: "/console/groups/billing", code: 200, want: []string{
			"Group billing", `id="total-lag">10<`, ">20<", ">30<", "Lag over time"}},
		{name: "workers", path: "/console/workers", code: 200, want: []string{
			fixConnector, fixPipeline, `class="ok">running<`, `data-action="pause"`, "source", "on node-1"}},
		{name: "missing-topic", path: "/console/topics/nope", code: 404, want: []string{"topic nope"}},
	}
}

func checkPage(t *testing.T, what, body string, p consolePage) {
	t.Helper()
	for _, w := range p.want {
		if !strings.Contains(body, w) {
			t.Errorf("%s %s does not show %q:\n%s", what, p.path, w, body)
		}
	}
	for _, w := range p.not {
		if strings.Contains(body, w) {
			t.Errorf("%s %s shows %q, which it must not", what, p.path, w)
		}
	}
}

// TestConsole loads every console page from a running node, first over
// HTTP from Go and then in a real headless Chromium, and checks what each
// shows. With CONSOLE_SCREENSHOTS set to a directory, Chromium also saves
// a PNG of each page there (make console-screenshots).
func TestConsole(t *testing.T) {
	f := startConsoleFixture(t)
	pages := consolePages(f)

	t.Run("http", func(t *testing.T) {
		for _, p := range pages {
			code, body := fetchPage(t, f.base+p.path)
			if code != p.code {
				t.Errorf("GET %s: %d, want %d\n%s", p.path, code, p.code, body)
			}
			// Chromium's DOM has text unescaped; the raw HTML has &#34; for ".
			checkPage(t, "GET", html.UnescapeString(body), p)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(f.base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != PathConsole {
			t.Errorf("GET /: %d to %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), PathConsole)
		}
		code, body := fetchPage(t, f.base+"/console/static/console.js")
		if code != 200 || !strings.Contains(body, "data-action") && !strings.Contains(body, "dataset.action") {
			t.Errorf("console.js: %d\n%s", code, body)
		}
	})

	t.Run("chromium", func(t *testing.T) {
		shots := os.Getenv("CONSOLE_SCREENSHOTS")
		for _, p := range pages {
			dom := chromium(t, "--dump-dom", f.base+p.path)
			checkPage(t, "chromium", dom, p)
			if shots != "" && p.code == 200 {
				if err := os.MkdirAll(shots, 0o755); err != nil {
					t.Fatal(err)
				}
				png := filepath.Join(shots, p.name+".png")
				chromium(t, "--screenshot="+png, "--window-size=1280,900", "--hide-scrollbars", f.base+p.path)
				if st, err := os.Stat(png); err != nil || st.Size() == 0 {
					t.Errorf("screenshot %s: %v", png, err)
				}
			}
		}
	})
	t.Run("connector-throughput", func(t *testing.T) {
		// A source connector has no record counter; the console counts the
		// records in its topic at each sample (every 5 s).
		row := regexp.MustCompile(`<td>` + fixConnector + `</td>.*?<td class="num">([0-9]+)</td><td class="num">([0-9.]+)/s</td>`)
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, body := fetchPage(t, f.base+"/console/workers")
			m := row.FindStringSubmatch(strings.ReplaceAll(body, "\n", " "))
			if m != nil && m[1] != "0" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the connector's row shows no record count after 30s:\n%s", body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("group-members", func(t *testing.T) { testGroupMembers(t, f) })
	t.Run("connector-error", func(t *testing.T) { testConnectorError(t, f) })
	t.Run("worker-metrics", func(t *testing.T) { testWorkerMetrics(t, f) })
	t.Run("chromium-pause-resume", func(t *testing.T) { testPauseResumeButtons(t, f) })

	t.Run("lag-over-time", func(t *testing.T) {
		// The sampler records the group's lag every few seconds; once the
		// group commits more, the chart's latest sample follows.
		cl, err := kgo.NewClient(kgo.SeedBrokers(f.kafka))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		commitOffsets(t, kadm.NewClient(cl), fixGroup, fixTopic, 0, 25)
		waitFor(t, "lag chart at 5", func() bool {
			_, body := fetchPage(t, f.base+"/console/groups/billing")
			return strings.Contains(body, `id="lag-chart"`) && strings.Contains(body, "latest 5.")
		})
	})
}

// chromium runs headless Chromium once with args and returns its stdout.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("chromium is not installed: run `make deps` (installs the Debian packages chromium and chromium-driver)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// TestConsoleNeedsAuth: with security.http_auth on, the console's pages and
// assets (and the root redirect) are behind the same authentication as the
// rest of the HTTP API.
func TestConsoleNeedsAuth(t *testing.T) {
	n, err := New(Config{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), Security: SecuritySection{Authorizer: true}},
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		withBroker(func(broker.Config) (brokerService, error) { return authBroker{}, nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	cases := []struct {
		path  string
		basic bool
		want  int
	}{
		{"/", false, http.StatusUnauthorized},
		{"/console/", false, http.StatusUnauthorized},
		{"/console/topics", false, http.StatusUnauthorized},
		{"/console/static/console.css", false, http.StatusUnauthorized},
		{"/console/static/console.css", true, http.StatusOK},
		{"/", true, http.StatusFound},
	}
	cl := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range cases {
		req, err := http.NewRequest("GET", "http://"+n.HTTPAddr().String()+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.basic {
			req.SetBasicAuth("alice", "pw")
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s (credentials %v): %d, want %d", c.path, c.basic, resp.StatusCode, c.want)
		}
	}
}
