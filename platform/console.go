package platform

import (
	"net/http"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/pipelines/deploy"
	"github.com/tributary-io/tributary/platform/console"
	"github.com/tributary-io/tributary/plugins/pluginmetrics"
)

// PathConsole is where the web console's pages are; "/" redirects there.
const PathConsole = console.Prefix

// consoleRoutes serves the console (behind the same auth wrapper as every
// other route) and redirects the bare root to it.
func (n *Node) consoleRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+PathConsole, n.console.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, PathConsole, http.StatusFound)
	})
}

// startConsole connects the console to this node's own broker.
func (n *Node) startConsole() {
	seeds, opts, err := n.localClient()
	if err == nil {
		err = n.console.Start(seeds, opts...)
	}
	if err != nil {
		n.logger.Error("console did not start", "error", err)
	}
}

// consoleWorkers adapts the node's worker and its metrics to what the
// console shows.
type consoleWorkers struct{ n *Node }

// Units lists connectors and pipelines with their states, and each
// pipeline's record counts from the node's registry.
func (cw consoleWorkers) Units() ([]console.Unit, error) {
	n := cw.n
	if n.worker == nil || !n.ready.Load() {
		return nil, console.ErrNoWorkers
	}
	wk := n.worker
	counts := pipelineCounts(n)
	var out []console.Unit
	for _, s := range wk.List(deploy.KindConnector) {
		st, err := n.connectorStatusOf(wk, s.Name)
		if err != nil {
			continue // deleted meanwhile
		}
		u := console.Unit{Kind: "connector", Name: s.Name, Type: s.Config[connect.KeyType],
			State: st.Connector.State, Paused: s.Paused, Worker: st.Connector.Worker}
		// Connectors have no record counters: the console counts a sink's
		// committed offsets and a source's topic over Kafka.
		if u.Type == "sink" {
			u.Group = connect.Group(s.Name)
		} else {
			u.Topic = s.Config[connect.KeyTopic]
		}
		for _, t := range st.Tasks {
			u.Tasks = append(u.Tasks, console.Task{ID: *t.ID, State: t.State, Worker: t.Worker, Trace: t.Trace})
			if u.Trace == "" {
				u.Trace = t.Trace
			}
		}
		out = append(out, u)
	}
	for _, s := range wk.List(deploy.KindPipeline) {
		st := n.pipelineStateOf(wk, s)
		u := console.Unit{Kind: "pipeline", Name: s.Name, State: st.State, Paused: s.Paused, Worker: st.Worker,
			Trace: st.Trace, Outcomes: counts[s.Name], Counted: len(counts[s.Name]) > 0}
		u.Records = counts[s.Name][pluginmetrics.OutcomeIn]
		out = append(out, u)
	}
	return out, nil
}

// pipelineCounts reads tributary_pipeline_records_total by pipeline and
// outcome from the node's registry.
func pipelineCounts(n *Node) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	fams, err := n.registry.Gather()
	if err != nil && len(fams) == 0 {
		return out
	}
	for _, f := range fams {
		if f.GetName() != pluginmetrics.PipelineRecordsTotal {
			continue
		}
		for _, m := range f.GetMetric() {
			var pipeline, outcome string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "pipeline":
					pipeline = l.GetValue()
				case "outcome":
					outcome = l.GetValue()
				}
			}
			if out[pipeline] == nil {
				out[pipeline] = map[string]float64{}
			}
			out[pipeline][outcome] += m.GetCounter().GetValue()
		}
	}
	return out
}
