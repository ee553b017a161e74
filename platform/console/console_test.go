package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

func TestHumanBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"}}
	for _, c := range cases {
		if got := humanBytes(c.n); got != c.want {
			t.Errorf("humanBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestParseBrowse(t *testing.T) {
	cases := []struct {
		query   string
		want    browseQuery
		wantErr string
	}{
		{"", browseQuery{Offset: -1, Limit: defaultBrowseLimit}, ""},
		{"partition=2&offset=7&limit=5", browseQuery{Partition: 2, Offset: 7, Limit: 5}, ""},
		{"time=2026-01-02T03:04:05", browseQuery{Offset: -1, Limit: defaultBrowseLimit, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, ""},
		{"time=2026-01-02T03:04", browseQuery{Offset: -1, Limit: defaultBrowseLimit, Time: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}, ""},
		{"time=2026-01-02T03:04:05%2B02:00", browseQuery{Offset: -1, Limit: defaultBrowseLimit, Time: time.Date(2026, 1, 2, 1, 4, 5, 0, time.UTC)}, ""},
		// An offset wins over a time.
		{"offset=3&time=2026-01-02T03:04", browseQuery{Offset: 3, Limit: defaultBrowseLimit}, ""},
		{"partition=3", browseQuery{}, "partition"},
		{"partition=-1", browseQuery{}, "partition"},
		{"offset=-2", browseQuery{}, "offset"},
		{"limit=0", browseQuery{}, "limit"},
		{"limit=100000", browseQuery{}, "limit"},
		{"time=yesterday", browseQuery{}, "time"},
	}
	for _, c := range cases {
		v, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseBrowse(v, 3)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("parseBrowse(%q) error = %v, want one about %s", c.query, err, c.wantErr)
			}
			continue
		}
		if err != nil || !got.Time.Equal(c.want.Time) || got.Partition != c.want.Partition || got.Offset != c.want.Offset || got.Limit != c.want.Limit {
			t.Errorf("parseBrowse(%q) = %+v, %v; want %+v", c.query, got, err, c.want)
		}
	}
}

func TestLagHistoryRing(t *testing.T) {
	h := newLagHistory(3)
	t0 := time.Unix(1000, 0)
	for i := range 5 {
		h.record(t0.Add(time.Duration(i)*time.Second), map[string]int64{"g": int64(i * 10), "h": 1})
	}
	got := h.samples("g")
	if len(got) != 3 || got[0].Lag != 20 || got[1].Lag != 30 || got[2].Lag != 40 {
		t.Fatalf("samples after 5 records in a ring of 3 = %+v, want lags 20, 30, 40", got)
	}
	// A group that is gone is forgotten.
	h.record(t0.Add(time.Minute), map[string]int64{"g": 5})
	if s := h.samples("h"); s != nil {
		t.Errorf("samples of a deleted group = %+v, want none", s)
	}
	sp := sparkOf(h.samples("g"))
	if sp == nil || sp.Count != 3 || sp.Max != 40 || sp.Last != 5 || strings.Count(sp.Points, ",") != 3 {
		t.Errorf("spark = %+v", sp)
	}
	if sparkOf(nil) != nil {
		t.Error("spark of no samples is not nil")
	}
}

func TestRateTracker(t *testing.T) {
	r := newRateTracker()
	t0 := time.Unix(1000, 0)
	r.record(t0, map[string]float64{"p": 100})
	if got := r.get("p"); got != 0 {
		t.Errorf("rate after one sample = %v, want 0", got)
	}
	r.record(t0.Add(2*time.Second), map[string]float64{"p": 300})
	if got := r.get("p"); got != 100 {
		t.Errorf("rate = %v, want 100/s", got)
	}
	// A counter that went down (a restarted runtime) gives no rate.
	r.record(t0.Add(4*time.Second), map[string]float64{"p": 10})
	if got := r.get("p"); got != 0 {
		t.Errorf("rate after a reset = %v, want 0", got)
	}
}

func TestPrintable(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{[]byte(`{"a":1}`), `{"a":1}`},
		{[]byte("line\nnext"), "line\nnext"},
		{[]byte{0, 1, 0xff}, "0x0001ff"},
		{[]byte(strings.Repeat("x", maxShownBytes+5)), strings.Repeat("x", maxShownBytes) + " … (5 more bytes)"},
	}
	for _, c := range cases {
		if got := printable(c.in); got != c.want {
			t.Errorf("printable(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestStateClass(t *testing.T) {
	for state, want := range map[string]string{"running": "ok", "RUNNING": "ok", "failed": "bad", "paused": "warn", "": ""} {
		if got := stateClass(state); got != want {
			t.Errorf("stateClass(%q) = %q, want %q", state, got, want)
		}
	}
}

// TestPagesBeforeStart: the handler answers 503 with a reason until Start.
func TestPagesBeforeStart(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, path := range []string{"/console/", "/console/topics", "/console/topics/x", "/console/groups", "/console/groups/x"} {
		rec := newRecorder()
		c.Handler().ServeHTTP(rec, mustRequest(t, path))
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), "not connected yet") {
			t.Errorf("%s before Start: %d\n%s", path, rec.Code, rec.Body.String())
		}
	}
	rec := newRecorder()
	c.Handler().ServeHTTP(rec, mustRequest(t, "/console/workers"))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="no-workers"`) {
		t.Errorf("workers page without workers: %d\n%s", rec.Code, rec.Body.String())
	}
}

func TestPartitionProblem(t *testing.T) {
	cases := []struct {
		name   string
		p      kadm.PartitionDetail
		minISR int
		want   string // substring; "" for healthy
	}{
		{"healthy", kadm.PartitionDetail{Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}, 2, ""},
		{"offline", kadm.PartitionDetail{Leader: -1, Replicas: []int32{1}, ISR: []int32{}}, 1, "offline"},
		{"offline replica", kadm.PartitionDetail{Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1}, OfflineReplicas: []int32{2}}, 1, "offline replicas"},
		{"under-replicated", kadm.PartitionDetail{Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}}, 1, "under-replicated (2 of 3"},
		{"under min ISR", kadm.PartitionDetail{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}, 2, "under min ISR"},
		{"min ISR unknown", kadm.PartitionDetail{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}, 0, ""},
	}
	for _, c := range cases {
		got := partitionProblem(c.p, c.minISR)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: partitionProblem = %q, want %q", c.name, got, c.want)
		}
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustRequest(t *testing.T, path string) *http.Request {
	t.Helper()
	return httptest.NewRequest(http.MethodGet, path, nil)
}

// TestImportsOnlyKafkaClients keeps the console on the Kafka protocol: it
// may not depend on any other package of the module (broker, platform,
// pipelines), as doc.go says.
func TestImportsOnlyKafkaClients(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/tributary-io/tributary/"
	self := module + "platform/console"
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/twmb/franz-go/pkg/kadm") {
		t.Fatalf("kadm not among the dependencies: is the go list output understood?\n%s", out)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, module) && d != self {
			t.Errorf("the console depends on %s", d)
		}
	}
}
