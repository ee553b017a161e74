package platform

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tributary-io/tributary/broker"
)

// The node's HTTP endpoints. They are for operators and their tooling
// (Prometheus, Kubernetes probes, the CLI), on the HTTP port beside the
// Kafka listeners.
const (
	PathHealthz  = "/healthz"
	PathReadyz   = "/readyz"
	PathMetrics  = "/metrics"
	PathLogLevel = "/admin/log-level"
)

// readinessReporter is the optional capability of a broker to say which of
// its start-up steps are done; *broker.Broker has it.
type readinessReporter interface {
	Readiness() []broker.ReadyCheck
}

// routes returns the node's HTTP handler.
func (n *Node) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathHealthz, n.healthz)
	mux.HandleFunc("GET "+PathReadyz, n.readyz)
	mux.Handle("GET "+PathMetrics, promhttp.HandlerFor(n.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(n.logger.Handler(), slog.LevelWarn),
		// A collector failing must not hide every other series from the scrape.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET "+PathLogLevel, n.getLogLevel)
	mux.HandleFunc("PUT "+PathLogLevel, n.putLogLevel)
	n.apiRoutes(mux)
	n.consoleRoutes(mux)
	return n.withAuth(mux)
}

// healthz answers 200 while the process serves HTTP at all (liveness).
func (n *Node) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// readyz answers 200 once the node can serve clients: every broker start-up
// step is done (logs recovered, metadata loaded, group and transaction
// coordinators loaded, listeners open) and no shutdown has begun. Otherwise
// 503. The body lists each check, "[+]name ok" or "[-]name not ready", then
// "ready" or "not ready" on the last line.
func (n *Node) readyz(w http.ResponseWriter, _ *http.Request) {
	ready := n.ready.Load()
	var b strings.Builder
	if r, ok := n.broker.(readinessReporter); ok {
		for _, c := range r.Readiness() {
			if c.OK {
				fmt.Fprintf(&b, "[+]%s ok\n", c.Name)
			} else {
				fmt.Fprintf(&b, "[-]%s not ready\n", c.Name)
				ready = false
			}
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
		b.WriteString("not ready\n")
	} else {
		b.WriteString("ready\n")
	}
	_, _ = io.WriteString(w, b.String())
}

// getLogLevel answers the current lowest logged level, e.g. "info".
func (n *Node) getLogLevel(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, levelName(n.level.Level())+"\n")
}

// maxLevelBody bounds a log level request body; a level name is a few bytes.
const maxLevelBody = 64

// putLogLevel sets the lowest logged level from the body (debug, info, warn
// or error) for every logger of the node, at once and until the next change
// or restart. It answers the new level.
func (n *Node) putLogLevel(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxLevelBody+1))
	if err != nil {
		http.Error(w, fmt.Sprintf("read body: %v", err), http.StatusBadRequest)
		return
	}
	text := strings.TrimSpace(string(body))
	if len(body) > maxLevelBody || text == "" {
		http.Error(w, "send the level as the body: debug, info, warn or error", http.StatusBadRequest)
		return
	}
	level, err := parseLevel(text)
	if err != nil {
		http.Error(w, "log level "+err.Error(), http.StatusBadRequest)
		return
	}
	old := n.level.Level()
	n.level.Set(level)
	// Logged at warn, or at error when that is the new level, so the line
	// shows whatever the level became.
	n.logger.Log(r.Context(), max(level, slog.LevelWarn), "log level changed",
		"from", levelName(old), "to", levelName(level), "remote", r.RemoteAddr)
	_, _ = io.WriteString(w, levelName(level)+"\n")
}

// levelName is the name parseLevel accepts for l.
func levelName(l slog.Level) string {
	switch {
	case l <= slog.LevelDebug:
		return "debug"
	case l <= slog.LevelInfo:
		return "info"
	case l <= slog.LevelWarn:
		return "warn"
	}
	return "error"
}
