package stateful

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/streamstest"
)

// TestQueryHandler reads an aggregate, a windowed aggregate and a join's
// table through the handler, from the stores of a driven topology.
func TestQueryHandler(t *testing.T) {
	tests := []struct {
		name, processors string
		input            []struct{ topic, key, value string }
		queries          []struct {
			path string
			code int
			body string
		}
	}{
		{
			name:       "aggregate",
			processors: "    - aggregate: {key: value.k, op: sum, field: value.n}\n",
			input:      []struct{ topic, key, value string }{{"in", "", `{"k":"a","n":2}`}, {"in", "", `{"k":"a","n":3.5}`}, {"in", "", `{"k":"b","n":1}`}},
			queries: []struct {
				path string
				code int
				body string
			}{
				{"/keys/a", 200, `{"key":"a","value":5.5}`},
				{"/keys/b", 200, `{"key":"b","value":1}`},
				{"/keys/c", 404, `no local state for key \"c\"`},
				{"/windows/a", 404, "no windowed aggregate"},
			},
		},
		{
			name:       "window and join",
			processors: "    - join: {table: users, as: u}\n    - window: {type: tumbling, size: 10s, grace: 1h}\n    - aggregate: {key: value.u.team, op: count}\n",
			input: []struct{ topic, key, value string }{
				{"users", "u1", `{"team":"red"}`}, {"users", "u2", `{"team":"blue"}`},
				{"in", "u1", `{}`}, {"in", "u2", `{}`}, {"in", "u1", `{}`}, {"in", "u1", `{}`},
			},
			queries: []struct {
				path string
				code int
				body string
			}{
				{"/windows/red", 200, `[{"end":10000,"key":"red","start":0,"value":1},{"end":20000,"key":"red","start":10000,"value":2}]`},
				{"/windows/red?from=5000", 200, `[{"end":20000,"key":"red","start":10000,"value":2}]`},
				{"/windows/red?from=x", 400, "want Unix milliseconds"},
				{"/tables/users/keys/u2", 200, `{"key":"u2","value":{"team":"blue"}}`},
				{"/tables/users/keys/u3", 404, "no local row"},
				{"/tables/orders/keys/u1", 404, `joins no table \"orders\"`},
				{"/keys/red", 404, "no aggregate without a window"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := plan(t, manifest(tt.processors))
			top, err := pl.Topology(&Counters{})
			if err != nil {
				t.Fatal(err)
			}
			d := driver(t, top)
			for i, r := range tt.input {
				// Timestamps 0, 6s, 12s, ...: two 10s windows.
				if err := streamstest.Input(d, r.topic, streams.String(), streams.String()).Pipe(r.key, r.value, int64(i-2)*6000); err != nil {
					t.Fatal(err)
				}
			}
			srv := httptest.NewServer(pl.QueryHandler(func() []streams.Querier { return []streams.Querier{d.Querier()} }))
			defer srv.Close()
			for _, q := range tt.queries {
				resp, err := http.Get(srv.URL + q.path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != q.code || !strings.Contains(string(body), q.body) {
					t.Errorf("GET %s: %d %s, want %d with %s", q.path, resp.StatusCode, body, q.code, q.body)
				}
			}
		})
	}
}
