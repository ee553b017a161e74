package platform

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tributary-io/tributary/pipelines/deploy"
)

func (n *Node) pipelineRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /pipelines", n.listPipelines)
	mux.HandleFunc("POST /pipelines", n.createPipeline)
	mux.HandleFunc("GET /pipelines/{name}", n.getPipeline)
	mux.HandleFunc("PUT /pipelines/{name}", n.putPipeline)
	mux.HandleFunc("DELETE /pipelines/{name}", func(w http.ResponseWriter, r *http.Request) { n.deleteSpec(w, r, deploy.KindPipeline) })
	mux.HandleFunc("GET /pipelines/{name}/status", n.pipelineStatus)
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

// pipelineState is GET /pipelines/{name}/status.
type pipelineState struct {
	Name    string    `json:"name"`
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
	st := pipelineState{Name: s.Name, State: deploy.Overall(s.Paused, units)}
	if len(units) > 0 {
		st.Worker, st.Trace, st.Updated = units[0].Worker, units[0].Trace, units[0].Updated
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
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	s, err := wk.Get(deploy.KindPipeline, r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, pipelineInfo{Name: s.Name, Manifest: s.Manifest, Paused: s.Paused, Updated: s.Updated})
}

func (n *Node) pipelineStatus(w http.ResponseWriter, r *http.Request) {
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	s, err := wk.Get(deploy.KindPipeline, r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, n.pipelineStateOf(wk, s))
}
