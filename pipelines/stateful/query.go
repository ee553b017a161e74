package stateful

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/tributary-io/tributary/pipelines/process"
	"github.com/tributary-io/tributary/streams"
)

// QueryHandler serves interactive queries on the plan's local state as
// JSON, read-only, from the stores of the tasks that queriers (the running
// Apps) own now:
//
//	GET /keys/{key}                  an aggregate without a window:
//	                                 {"key": K, "value": V}, or 404
//	GET /windows/{key}?from=T1&to=T2 a windowed aggregate: the key's windows
//	                                 starting in [T1, T2] (Unix ms; default
//	                                 all) as [{"key","start","end","value"}]
//	GET /tables/{table}/keys/{key}   a join's table row: {"key": K, "value": V}, or 404
//
// Values are the ones the pipeline emits (the count, sum, ... not the
// internal state). Windows stay queryable until their grace period ends.
// Only this process's tasks answer: with several processes, ask each.
func (pl *Plan) QueryHandler(queriers func() []streams.Querier) http.Handler {
	mux := http.NewServeMux()
	op := pl.aggregateOp()
	mux.HandleFunc("GET /keys/{key}", func(w http.ResponseWriter, r *http.Request) {
		if !pl.hasStore(AggregateStore) {
			httpError(w, http.StatusNotFound, "the pipeline has no aggregate without a window; windowed aggregates answer under /windows/{key}")
			return
		}
		key := r.PathValue("key")
		for _, q := range queriers() {
			a, ok, err := streams.Get[string, acc](q, AggregateStore, key)
			if err != nil {
				httpError(w, http.StatusInternalServerError, err.Error())
				return
			}
			if ok {
				writeJSON(w, map[string]any{"key": key, "value": a.result(op)})
				return
			}
		}
		httpError(w, http.StatusNotFound, fmt.Sprintf("no local state for key %q", key))
	})
	mux.HandleFunc("GET /windows/{key}", func(w http.ResponseWriter, r *http.Request) {
		if !pl.hasStore(WindowStore) {
			httpError(w, http.StatusNotFound, "the pipeline has no windowed aggregate")
			return
		}
		from, err1 := queryTime(r, "from", math.MinInt64)
		to, err2 := queryTime(r, "to", math.MaxInt64)
		if err := errors.Join(err1, err2); err != nil {
			httpError(w, http.StatusBadRequest, err.Error())
			return
		}
		key := r.PathValue("key")
		out := []map[string]any{}
		for _, q := range queriers() {
			ws, err := streams.FetchWindows[string, acc](q, WindowStore, key, from, to)
			if err != nil {
				httpError(w, http.StatusInternalServerError, err.Error())
				return
			}
			for _, win := range ws {
				out = append(out, map[string]any{"key": key, "start": win.Start, "end": win.End, "value": win.Value.result(op)})
			}
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /tables/{table}/keys/{key}", func(w http.ResponseWriter, r *http.Request) {
		store := JoinStore(r.PathValue("table"))
		if !pl.hasStore(store) {
			httpError(w, http.StatusNotFound, fmt.Sprintf("the pipeline joins no table %q", r.PathValue("table")))
			return
		}
		key := r.PathValue("key")
		for _, q := range queriers() {
			row, ok, err := streams.Get[[]byte, []byte](q, store, []byte(key))
			if err != nil {
				httpError(w, http.StatusInternalServerError, err.Error())
				return
			}
			if ok {
				writeJSON(w, map[string]any{"key": key, "value": process.DecodeValue(row)})
				return
			}
		}
		httpError(w, http.StatusNotFound, fmt.Sprintf("no local row for key %q", key))
	})
	return mux
}

// aggregateOp is the plan's aggregate op, or "" without one.
func (pl *Plan) aggregateOp() string {
	for _, st := range pl.steps {
		if st.agg != nil {
			return st.agg.Op
		}
	}
	return ""
}

// hasStore reports whether the plan's topology has the store.
func (pl *Plan) hasStore(name string) bool {
	for _, st := range pl.steps {
		switch {
		case st.agg != nil && st.win == nil && name == AggregateStore,
			st.agg != nil && st.win != nil && name == WindowStore,
			st.join != nil && name == JoinStore(st.join.Table):
			return true
		}
	}
	return false
}

func queryTime(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want Unix milliseconds", name, v)
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
