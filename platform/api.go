package platform

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/pipelines/deploy"
	"github.com/tributary-io/tributary/sdk"
)

// The REST API for connectors is modelled on Kafka Connect's: the same
// paths, methods and status codes, and JSON bodies of the same shape where
// the concepts match. Pipelines have the same endpoints under /pipelines
// (api_pipelines.go). Every write is validated first, reporting every
// problem, and answered once this node's worker has read it back.

// maxAPIBody bounds a request body; a manifest is at most a few hundred KiB.
const maxAPIBody = 4 << 20

// apiTimeout bounds one API call's work against the cluster.
const apiTimeout = 30 * time.Second

func (n *Node) apiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /connectors", n.listConnectors)
	mux.HandleFunc("POST /connectors", n.createConnector)
	mux.HandleFunc("GET /connectors/{name}", n.getConnector)
	mux.HandleFunc("DELETE /connectors/{name}", n.deleteConnector)
	mux.HandleFunc("GET /connectors/{name}/config", n.getConnectorConfig)
	mux.HandleFunc("PUT /connectors/{name}/config", n.putConnectorConfig)
	mux.HandleFunc("GET /connectors/{name}/status", n.connectorStatus)
	mux.HandleFunc("GET /connectors/{name}/tasks", n.connectorTasks)
	mux.HandleFunc("GET /connectors/{name}/tasks/{task}/status", n.taskStatus)
	mux.HandleFunc("PUT /connectors/{name}/pause", n.pauseResume(deploy.KindConnector, true))
	mux.HandleFunc("PUT /connectors/{name}/resume", n.pauseResume(deploy.KindConnector, false))
	mux.HandleFunc("POST /connectors/{name}/restart", n.restart(deploy.KindConnector))
	mux.HandleFunc("POST /connectors/{name}/tasks/{task}/restart", n.restart(deploy.KindConnector))
	mux.HandleFunc("GET /connector-plugins", n.listPlugins)
	mux.HandleFunc("GET /connector-plugins/{plugin}/config", n.pluginConfig)
	mux.HandleFunc("PUT /connector-plugins/{plugin}/config/validate", n.validatePluginConfig)
	n.pipelineRoutes(mux)
}

// apiError is the error body, as Kafka Connect writes it, plus every
// problem of an invalid configuration.
type apiError struct {
	Code     int           `json:"error_code"`
	Message  string        `json:"message"`
	Problems []sdk.Problem `json:"problems,omitempty"`
	Lines    []string      `json:"manifest_problems,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeErr maps the deployment API's errors to status codes.
func writeErr(w http.ResponseWriter, err error) {
	var inv *deploy.InvalidError
	switch {
	case errors.As(err, &inv):
		writeJSON(w, http.StatusBadRequest, apiError{Code: 400, Message: err.Error(), Problems: inv.Problems, Lines: inv.Lines})
	case errors.Is(err, deploy.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Code: 404, Message: err.Error()})
	case errors.Is(err, deploy.ErrExists):
		writeJSON(w, http.StatusConflict, apiError{Code: 409, Message: err.Error()})
	case errors.Is(err, errBadRequest):
		writeJSON(w, http.StatusBadRequest, apiError{Code: 400, Message: err.Error()})
	default:
		writeJSON(w, http.StatusInternalServerError, apiError{Code: 500, Message: err.Error()})
	}
}

var errBadRequest = errors.New("bad request")

// readBody decodes a JSON body into v.
func readBody(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil {
		return fmt.Errorf("%w: read body: %v", errBadRequest, err)
	}
	if len(data) > maxAPIBody {
		return fmt.Errorf("%w: body larger than %d bytes", errBadRequest, maxAPIBody)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: body is not the expected JSON: %v", errBadRequest, err)
	}
	return nil
}

// needWorker answers 503 and returns nil when the node runs no worker.
func (n *Node) needWorker(w http.ResponseWriter) *deploy.Worker {
	if n.worker == nil || !n.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Code: 503,
			Message: "this node runs no worker (worker.disabled, or it failed to start: see the node's log)"})
		return nil
	}
	return n.worker
}

// needSpec is needWorker, then the spec of kind the path names; when either
// is missing it has answered, and the spec is nil.
func (n *Node) needSpec(w http.ResponseWriter, r *http.Request, kind deploy.Kind) (*deploy.Worker, *deploy.Spec) {
	wk := n.needWorker(w)
	if wk == nil {
		return nil, nil
	}
	s, err := wk.Get(kind, r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return nil, nil
	}
	return wk, s
}

// connectorInfo is GET /connectors/{name}.
type connectorInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []taskID          `json:"tasks"`
	Type   string            `json:"type"`
	// Changed is set on PUT: whether the configuration differed.
	Changed *bool `json:"changed,omitempty"`
}

type taskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

func infoOf(s *deploy.Spec) connectorInfo {
	cfg, _ := connect.Parse(s.Name, s.Config)
	info := connectorInfo{Name: s.Name, Config: maps.Clone(s.Config), Type: s.Config[connect.KeyType]}
	info.Config["name"] = s.Name
	for i := range max(cfg.Tasks, 1) {
		info.Tasks = append(info.Tasks, taskID{Connector: s.Name, Task: i})
	}
	return info
}

func (n *Node) listConnectors(w http.ResponseWriter, r *http.Request) {
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	specs := wk.List(deploy.KindConnector)
	switch r.URL.Query().Get("expand") {
	case "status":
		out := map[string]any{}
		for _, s := range specs {
			st, _ := n.connectorStatusOf(wk, s.Name)
			out[s.Name] = map[string]any{"status": st}
		}
		writeJSON(w, http.StatusOK, out)
	case "info":
		out := map[string]any{}
		for _, s := range specs {
			out[s.Name] = map[string]any{"info": infoOf(s)}
		}
		writeJSON(w, http.StatusOK, out)
	default:
		names := make([]string, 0, len(specs))
		for _, s := range specs {
			names = append(names, s.Name)
		}
		writeJSON(w, http.StatusOK, names)
	}
}

func (n *Node) createConnector(w http.ResponseWriter, r *http.Request) {
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	var body struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	if err := readBody(r, &body); err != nil {
		writeErr(w, err)
		return
	}
	if body.Name == "" {
		body.Name = body.Config["name"]
	}
	delete(body.Config, "name")
	if _, err := wk.Get(deploy.KindConnector, body.Name); err == nil {
		writeErr(w, fmt.Errorf("%w: connector %q", deploy.ErrExists, body.Name))
		return
	}
	n.put(w, r, &deploy.Spec{Kind: deploy.KindConnector, Name: body.Name, Config: body.Config})
}

func (n *Node) putConnectorConfig(w http.ResponseWriter, r *http.Request) {
	if n.needWorker(w) == nil {
		return
	}
	var cfg map[string]string
	if err := readBody(r, &cfg); err != nil {
		writeErr(w, err)
		return
	}
	name := r.PathValue("name")
	if v, ok := cfg["name"]; ok && v != name {
		writeErr(w, fmt.Errorf("%w: name %q in the config differs from %q in the path", errBadRequest, v, name))
		return
	}
	delete(cfg, "name")
	n.put(w, r, &deploy.Spec{Kind: deploy.KindConnector, Name: name, Config: cfg})
}

// put stores a connector spec and answers 201 (created) or 200.
func (n *Node) put(w http.ResponseWriter, r *http.Request, s *deploy.Spec) {
	ctx, cancel := contextTimeout(r)
	defer cancel()
	if s.Config == nil {
		s.Config = map[string]string{}
	}
	created, changed, err := n.worker.Put(ctx, s)
	if err != nil {
		writeErr(w, err)
		return
	}
	got, err := n.worker.Get(s.Kind, s.Name)
	if err != nil {
		writeErr(w, err)
		return
	}
	info := infoOf(got)
	info.Changed = &changed
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, info)
}

func (n *Node) getConnector(w http.ResponseWriter, r *http.Request) {
	_, s := n.needSpec(w, r, deploy.KindConnector)
	if s == nil {
		return
	}
	writeJSON(w, http.StatusOK, infoOf(s))
}

func (n *Node) getConnectorConfig(w http.ResponseWriter, r *http.Request) {
	_, s := n.needSpec(w, r, deploy.KindConnector)
	if s == nil {
		return
	}
	writeJSON(w, http.StatusOK, infoOf(s).Config)
}

func (n *Node) deleteConnector(w http.ResponseWriter, r *http.Request) {
	n.deleteSpec(w, r, deploy.KindConnector)
}

func (n *Node) deleteSpec(w http.ResponseWriter, r *http.Request, kind deploy.Kind) {
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	ctx, cancel := contextTimeout(r)
	defer cancel()
	if err := wk.Delete(ctx, kind, r.PathValue("name")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// stateOf is a connector's or task's state in a status body.
type stateOf struct {
	ID     *int   `json:"id,omitempty"`
	State  string `json:"state"`
	Worker string `json:"worker_id"`
	Trace  string `json:"trace,omitempty"`
}

type connectorStatus struct {
	Name      string    `json:"name"`
	Connector stateOf   `json:"connector"`
	Tasks     []stateOf `json:"tasks"`
	Type      string    `json:"type"`
}

func (n *Node) connectorStatusOf(wk *deploy.Worker, name string) (connectorStatus, error) {
	s, err := wk.Get(deploy.KindConnector, name)
	if err != nil {
		return connectorStatus{}, err
	}
	units, err := wk.Statuses(deploy.KindConnector, name)
	if err != nil {
		return connectorStatus{}, err
	}
	st := connectorStatus{Name: name, Type: s.Config[connect.KeyType], Tasks: []stateOf{}}
	for _, u := range units {
		id := u.Task
		st.Tasks = append(st.Tasks, stateOf{ID: &id, State: u.State, Worker: u.Worker, Trace: u.Trace})
	}
	st.Connector.State = deploy.Overall(s.Paused, units)
	if len(units) > 0 {
		st.Connector.Worker = units[0].Worker
	}
	return st, nil
}

func (n *Node) connectorStatus(w http.ResponseWriter, r *http.Request) {
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	st, err := n.connectorStatusOf(wk, r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (n *Node) taskStatus(w http.ResponseWriter, r *http.Request) {
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	st, err := n.connectorStatusOf(wk, r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	task, err := strconv.Atoi(r.PathValue("task"))
	if err != nil || task < 0 || task >= len(st.Tasks) {
		writeErr(w, fmt.Errorf("%w: task %q of connector %s", deploy.ErrNotFound, r.PathValue("task"), st.Name))
		return
	}
	writeJSON(w, http.StatusOK, st.Tasks[task])
}

func (n *Node) connectorTasks(w http.ResponseWriter, r *http.Request) {
	_, s := n.needSpec(w, r, deploy.KindConnector)
	if s == nil {
		return
	}
	info := infoOf(s)
	type task struct {
		ID     taskID            `json:"id"`
		Config map[string]string `json:"config"`
	}
	out := make([]task, 0, len(info.Tasks))
	for _, t := range info.Tasks {
		out = append(out, task{ID: t, Config: info.Config})
	}
	writeJSON(w, http.StatusOK, out)
}

func (n *Node) pauseResume(kind deploy.Kind, paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		wk := n.needWorker(w)
		if wk == nil {
			return
		}
		ctx, cancel := contextTimeout(r)
		defer cancel()
		if err := wk.SetPaused(ctx, kind, r.PathValue("name"), paused); err != nil {
			writeErr(w, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

func (n *Node) restart(kind deploy.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		wk := n.needWorker(w)
		if wk == nil {
			return
		}
		task := -1
		if t := r.PathValue("task"); t != "" {
			v, err := strconv.Atoi(t)
			if err != nil || v < 0 {
				writeErr(w, fmt.Errorf("%w: task %q", errBadRequest, t))
				return
			}
			task = v
			// A task the connector does not have is not found, as in
			// Kafka Connect, rather than a restart counter nobody reads.
			s, err := wk.Get(kind, r.PathValue("name"))
			if err != nil {
				writeErr(w, err)
				return
			}
			if task >= len(infoOf(s).Tasks) {
				writeErr(w, fmt.Errorf("%w: task %d of connector %s", deploy.ErrNotFound, task, s.Name))
				return
			}
		}
		ctx, cancel := contextTimeout(r)
		defer cancel()
		if err := wk.Restart(ctx, kind, r.PathValue("name"), task); err != nil {
			writeErr(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
