package platform

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// pipelineStores finds the read-only query handler of a pipeline with
// stateful steps that runs on this node; *deploy.Worker is one. The API
// reaches a pipeline's state only through it, never through the runner or
// the streams runtime.
type pipelineStores interface {
	PipelineStores(name string) (http.Handler, bool)
}

// pipelineState serves GET /pipelines/{name}/state/{path...}: interactive
// queries on the local state of a running stateful pipeline, answered by the
// pipeline's handler with the path after /state:
//
//	/state/keys/{key}                 an aggregate's current value
//	/state/windows/{key}?from=&to=    a windowed aggregate's windows
//	/state/tables/{table}/keys/{key}  a join table's row
//
// Only the tasks of this node's worker answer; a pipeline that does not
// run here is a 404 naming where to look.
func (n *Node) pipelineState(w http.ResponseWriter, r *http.Request) {
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	serveState(wk, w, r)
}

func serveState(stores pipelineStores, w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h, ok := stores.PipelineStores(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Code: 404, Message: fmt.Sprintf(
			"pipeline %s has no stateful steps running on this node's worker; GET /pipelines/%s/status names the worker that runs it", name, name)})
		return
	}
	// Keep the escaping of the rest of the path, so a key holding a '/'
	// (written %2F) stays one path segment.
	esc := r.URL.EscapedPath()
	rest := esc[strings.Index(esc, "/state/")+len("/state"):]
	path, err := url.PathUnescape(rest)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 400, Message: fmt.Sprintf("path %q: %v", rest, err)})
		return
	}
	sub := r.Clone(r.Context())
	sub.URL.Path, sub.URL.RawPath = path, rest
	h.ServeHTTP(w, sub)
}
