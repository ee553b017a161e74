package platform

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeStores has one stateful pipeline, "p", whose handler echoes the path
// and query it was given.
type fakeStores struct{}

func (fakeStores) PipelineStores(name string) (http.Handler, bool) {
	if name != "p" {
		return nil, false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
	}), true
}

// TestPipelineStateRoute: /pipelines/{name}/state/... reaches the
// pipeline's handler with the path after /state, and a pipeline without
// one is a 404.
func TestPipelineStateRoute(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pipelines/{name}/state/{path...}", func(w http.ResponseWriter, r *http.Request) {
		serveState(fakeStores{}, w, r)
	})
	tests := []struct {
		path string
		code int
		body string
	}{
		{"/pipelines/p/state/keys/u%2F1", 200, "/keys/u%2F1?"},
		{"/pipelines/p/state/windows/u1?from=5&to=9", 200, "/windows/u1?from=5&to=9"},
		{"/pipelines/other/state/keys/u1", 404, "pipeline other has no stateful steps running on this node"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.body) {
			t.Errorf("GET %s: %d %q, want %d with %q", tt.path, rec.Code, rec.Body.String(), tt.code, tt.body)
		}
	}
}
