package platform

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/pipelines/deploy"
)

func (n *Node) pipelineRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /pipelines", n.listPipelines)
	mux.HandleFunc("POST /pipelines", n.createPipeline)
	mux.HandleFunc("GET /pipelines/{name}", n.getPipeline)
	mux.HandleFunc("PUT /pipelines/{name}", n.putPipeline)
	mux.HandleFunc("DELETE /pipelines/{name}", func(w http.ResponseWriter, r *http.Request) { n.deleteSpec(w, r, deploy.KindPipeline) })
	mux.HandleFunc("GET /pipelines/{name}/status", n.pipelineStatus)
	mux.HandleFunc("GET /pipelines/{name}/logs", n.pipelineLogs)
	mux.HandleFunc("PUT /pipelines/{name}/pause", n.pauseResume(deploy.KindPipeline, true))
	mux.HandleFunc("PUT /pipelines/{name}/resume", n.pauseResume(deploy.KindPipeline, false))
	mux.HandleFunc("POST /pipelines/{name}/restart", n.restart(deploy.KindPipeline))
	mux.HandleFunc("GET /pipelines/{name}/state/{path...}", n.pipelineState)
}

// pipelineInfo is GET /pipelines/{name}.
type pipelineInfo struct {
	Name     string    `json:"name"`
	Manifest string    `json:"manifest"`
	Paused   bool      `json:"paused"`
	Updated  time.Time `json:"updated"`
	// Changed is set on PUT: whether the manifest differed.
	Changed *bool `json:"changed,omitempty"`
}

// pipelineState is GET /pipelines/{name}/status. State is the overall
// state; Worker and Trace are those of the part that explains it (the first
// failed part, else the first part not running, else the pipeline itself).
// Parts lists the pipeline and the connector tasks of its connector input
// and outputs.
type pipelineState struct {
	Name    string      `json:"name"`
	State   string      `json:"state"`
	Worker  string      `json:"worker_id"`
	Trace   string      `json:"trace,omitempty"`
	Updated time.Time   `json:"updated"`
	Parts   []partState `json:"parts"`
}

// partState is one unit of a pipeline.
type partState struct {
	Unit    string    `json:"unit"`
	State   string    `json:"state"`
	Worker  string    `json:"worker_id"`
	Trace   string    `json:"trace,omitempty"`
	Updated time.Time `json:"updated"`
}

func (n *Node) listPipelines(w http.ResponseWriter, r *http.Request) {
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	specs := wk.List(deploy.KindPipeline)
	if r.URL.Query().Get("expand") == "status" {
		out := []pipelineState{}
		for _, s := range specs {
			out = append(out, n.pipelineStateOf(wk, s))
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	names := make([]string, 0, len(specs))
	for _, s := range specs {
		names = append(names, s.Name)
	}
	writeJSON(w, http.StatusOK, names)
}

func (n *Node) pipelineStateOf(wk *deploy.Worker, s *deploy.Spec) pipelineState {
	units, _ := wk.Statuses(deploy.KindPipeline, s.Name)
	st := pipelineState{Name: s.Name, State: deploy.Overall(s.Paused, units), Parts: []partState{}}
	if len(units) == 0 {
		return st
	}
	shown := units[0]
	if i := slices.IndexFunc(units, func(u deploy.UnitStatus) bool { return u.State == connect.StateFailed }); i >= 0 {
		shown = units[i]
	} else if i := slices.IndexFunc(units, func(u deploy.UnitStatus) bool { return u.State != connect.StateRunning }); i >= 0 {
		shown = units[i]
	}
	st.Worker, st.Trace, st.Updated = shown.Worker, shown.Trace, shown.Updated
	if shown.Unit != units[0].Unit && shown.Trace != "" {
		st.Trace = shown.Unit + ": " + shown.Trace
	}
	for _, u := range units {
		st.Parts = append(st.Parts, partState{Unit: u.Unit, State: u.State, Worker: u.Worker, Trace: u.Trace, Updated: u.Updated})
	}
	return st
}

func (n *Node) createPipeline(w http.ResponseWriter, r *http.Request) {
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	var body struct {
		Name     string `json:"name"`
		Manifest string `json:"manifest"`
	}
	if err := readBody(r, &body); err != nil {
		writeErr(w, err)
		return
	}
	if _, err := wk.Get(deploy.KindPipeline, body.Name); err == nil {
		writeErr(w, fmt.Errorf("%w: pipeline %q", deploy.ErrExists, body.Name))
		return
	}
	n.putPipelineSpec(w, r, body.Name, body.Manifest)
}

func (n *Node) putPipeline(w http.ResponseWriter, r *http.Request) {
	if n.needWorker(w) == nil {
		return
	}
	var body struct {
		Manifest string `json:"manifest"`
	}
	if err := readBody(r, &body); err != nil {
		writeErr(w, err)
		return
	}
	n.putPipelineSpec(w, r, r.PathValue("name"), body.Manifest)
}

func (n *Node) putPipelineSpec(w http.ResponseWriter, r *http.Request, name, manifest string) {
	ctx, cancel := contextTimeout(r)
	defer cancel()
	created, changed, err := n.worker.Put(ctx, &deploy.Spec{Kind: deploy.KindPipeline, Name: name, Manifest: manifest})
	if err != nil {
		writeErr(w, err)
		return
	}
	s, err := n.worker.Get(deploy.KindPipeline, name)
	if err != nil {
		writeErr(w, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, pipelineInfo{Name: s.Name, Manifest: s.Manifest, Paused: s.Paused, Updated: s.Updated, Changed: &changed})
}

func (n *Node) getPipeline(w http.ResponseWriter, r *http.Request) {
	_, s := n.needSpec(w, r, deploy.KindPipeline)
	if s == nil {
		return
	}
	writeJSON(w, http.StatusOK, pipelineInfo{Name: s.Name, Manifest: s.Manifest, Paused: s.Paused, Updated: s.Updated})
}

func (n *Node) pipelineStatus(w http.ResponseWriter, r *http.Request) {
	wk, s := n.needSpec(w, r, deploy.KindPipeline)
	if s == nil {
		return
	}
	writeJSON(w, http.StatusOK, n.pipelineStateOf(wk, s))
}

// pipelineLogLines is GET /pipelines/{name}/logs.
type pipelineLogLines struct {
	Name   string   `json:"name"`
	Worker string   `json:"worker_id"`
	Lines  []string `json:"lines"`
}

// pipelineLogs answers with the last lines the pipeline logged on the
// worker its status names: this node's, or another node's, asked in turn
// (?local=1 answers with this node's lines whatever the status says).
func (n *Node) pipelineLogs(w http.ResponseWriter, r *http.Request) {
	wk, s := n.needSpec(w, r, deploy.KindPipeline)
	if s == nil {
		return
	}
	owner := n.pipelineStateOf(wk, s).Worker
	if owner == "" || owner == wk.ID() || r.URL.Query().Get("local") == "1" {
		lines, _ := wk.PipelineLogs(s.Name)
		if lines == nil {
			lines = []string{}
		}
		writeJSON(w, http.StatusOK, pipelineLogLines{Name: s.Name, Worker: wk.ID(), Lines: lines})
		return
	}
	base, ok := wk.WorkerURL(owner)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Code: 404, Message: fmt.Sprintf("pipeline %s runs on worker %s, which announced no REST address: read that worker's log", s.Name, owner)})
		return
	}
	ctx, cancel := contextTimeout(r)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/pipelines/"+url.PathEscape(s.Name)+"/logs?local=1", nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, apiError{Code: 502, Message: fmt.Sprintf("ask worker %s for the logs of %s: %v", owner, s.Name, err)})
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, maxAPIBody))
}
