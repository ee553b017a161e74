package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is the path every console page is served under.
const Prefix = "/console/"

// Config says how a Console reaches the cluster and the workers.
type Config struct {
	// ClientOpts are extra franz-go options for the console's Kafka
	// clients (TLS, SASL); the seeds are given to Start.
	ClientOpts []kgo.Opt
	// Workers lists connectors and pipelines; nil means this node runs
	// no worker and the page says so.
	Workers Workers
	// SampleEvery is how often group lag and worker throughput are
	// sampled. Default 5s.
	SampleEvery time.Duration
	// Samples is how many lag samples are kept per group. Default 120.
	Samples int
	// RequestTimeout bounds the Kafka requests of one page. Default 10s.
	RequestTimeout time.Duration
	// Logger receives sampling failures. Default: discard.
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.SampleEvery <= 0 {
		c.SampleEvery = 5 * time.Second
	}
	if c.Samples <= 0 {
		c.Samples = 120
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Console serves the pages. Handler may be served before Start (pages then
// answer 503); Start and Close are called once each, from one goroutine.
type Console struct {
	cfg   Config
	pages map[string]*template.Template
	mux   *http.ServeMux

	mu     sync.Mutex
	seeds  []string
	client *kgo.Client // nil before Start and after Close
	admin  *kadm.Client

	lags    *lagHistory
	rates   *rateTracker
	cancel  context.CancelFunc
	sampled chan struct{} // closed when the sampler goroutine returns
}

// New parses the embedded templates and builds the routes. It opens no
// connection; Start does.
func New(cfg Config) (*Console, error) {
	cfg.defaults()
	c := &Console{cfg: cfg, pages: map[string]*template.Template{},
		lags: newLagHistory(cfg.Samples), rates: newRateTracker()}
	funcs := template.FuncMap{"bytes": humanBytes, "stateClass": stateClass}
	layout, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse console layout: %w", err)
	}
	for _, name := range []string{"cluster", "topics", "topic", "groups", "group", "workers"} {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse console page %s: %w", name, err)
		}
		c.pages[name] = t
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("console assets: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console/{$}", c.clusterPage)
	mux.HandleFunc("GET /console/topics", c.topicsPage)
	mux.HandleFunc("GET /console/topics/{name}", c.topicPage)
	mux.HandleFunc("GET /console/groups", c.groupsPage)
	mux.HandleFunc("GET /console/groups/{name}", c.groupPage)
	mux.HandleFunc("GET /console/workers", c.workersPage)
	c.mux = mux
	return c, nil
}

// Handler serves everything under Prefix.
func (c *Console) Handler() http.Handler { return c.mux }

// Start connects to the cluster through seeds (host:port of Kafka
// listeners), with opts added to Config.ClientOpts (the node's TLS and
// SASL settings), and starts sampling group lag.
func (c *Console) Start(seeds []string, opts ...kgo.Opt) error {
	c.cfg.ClientOpts = append(append([]kgo.Opt(nil), c.cfg.ClientOpts...), opts...)
	opts = append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ClientID("tributary-console")}, c.cfg.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("console kafka client: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.seeds, c.client, c.admin = append([]string(nil), seeds...), cl, kadm.NewClient(cl)
	c.cancel = cancel
	c.sampled = make(chan struct{})
	c.mu.Unlock()
	go func() {
		defer close(c.sampled)
		c.sampleLoop(ctx)
	}()
	return nil
}

// Close stops the sampler, waits for it and closes the Kafka client.
func (c *Console) Close() {
	c.mu.Lock()
	cl, cancel, done := c.client, c.cancel, c.sampled
	c.client, c.admin = nil, nil
	c.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	cl.Close()
}

// errNotStarted is shown while the node is still starting.
var errNotStarted = errors.New("the console is not connected yet: the node is starting")

// adminClient returns the admin client, or errNotStarted.
func (c *Console) adminClient() (*kadm.Client, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.admin == nil {
		return nil, nil, errNotStarted
	}
	return c.admin, c.seeds, nil
}

// page is what the layout renders.
type page struct {
	Title   string
	Nav     string
	Errs    []string
	Refresh int // seconds; 0: no automatic reload
	Data    any
}

func (c *Console) render(w http.ResponseWriter, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := c.pages[name].ExecuteTemplate(w, "layout", p); err != nil {
		// Headers are out; all that is left is to say so in the log.
		c.cfg.Logger.Warn("render console page", "page", name, "error", err)
	}
}

// fail renders an error page: the console is up, the cluster is not
// answering (or the node is still starting).
func (c *Console) fail(w http.ResponseWriter, nav, title string, err error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	code := http.StatusBadGateway
	if errors.Is(err, errNotStarted) {
		code = http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	_ = c.pages["topics"].ExecuteTemplate(w, "layout", page{Title: title, Nav: nav, Errs: []string{err.Error()}})
}

func (c *Console) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), c.cfg.RequestTimeout)
}

// humanBytes formats a byte count with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// stateClass colours a connector, task or pipeline state.
func stateClass(state string) string {
	switch strings.ToUpper(state) {
	case "RUNNING":
		return "ok"
	case "FAILED", "RESTARTING":
		return "bad"
	case "PAUSED", "UNASSIGNED":
		return "warn"
	}
	return ""
}
