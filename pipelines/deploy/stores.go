package deploy

import (
	"net/http"
	"sync"
)

// storeHandlers holds the interactive-query handlers of the pipelines with
// stateful steps that run on this worker now, by pipeline name. runPipeline
// sets a pipeline's handler while its runner runs; the HTTP API reads it.
type storeHandlers struct {
	mu sync.Mutex
	by map[string]http.Handler
}

func (s *storeHandlers) set(name string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.by, name)
		return
	}
	if s.by == nil {
		s.by = map[string]http.Handler{}
	}
	s.by[name] = h
}

// PipelineStores returns the handler serving read-only queries on the local
// state of the pipeline called name (see runner.Runner.StoreHandler for its
// paths), when the pipeline has stateful steps and runs on this worker now.
// Only the tasks this worker owns answer.
func (w *Worker) PipelineStores(name string) (http.Handler, bool) {
	w.stores.mu.Lock()
	defer w.stores.mu.Unlock()
	h, ok := w.stores.by[name]
	return h, ok
}
