package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
)

// QueryHandler serves interactive queries on q's local stores as JSON, for
// the platform's HTTP API:
//
//	GET /stores/{store}/keys/{key}          {"key": ..., "value": ...}, or 404
//	GET /stores/{store}/range?from=A&to=B   [{"key": ..., "value": ...}, ...]
//	GET /stores/{store}/windows/{key}?from=T1&to=T2
//	                                        [{"start": ..., "end": ..., "value": ...}, ...]
//
// A key in the path or query is the key's serialized bytes as text, which is
// the key itself for String keys. Times are Unix milliseconds; from and to
// default to the whole range. Only the local instance's tasks answer.
func QueryHandler(q Querier) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stores/{store}/keys/{key}", func(w http.ResponseWriter, r *http.Request) {
		var out any
		err := q.withStore(r.PathValue("store"), func(def *storeDef, ss []*store) error {
			if def.kind != kvStoreKind {
				return fmt.Errorf("store %s is not a key-value store", def.name)
			}
			for _, s := range ss {
				if b, ok := s.get([]byte(r.PathValue("key"))); ok {
					v, err := def.valueSerde.dec(b)
					if err != nil {
						return err
					}
					out = map[string]any{"key": r.PathValue("key"), "value": v}
				}
			}
			return nil
		})
		if err == nil && out == nil {
			http.Error(w, "key not found in the local stores", http.StatusNotFound)
			return
		}
		writeJSON(w, out, err)
	})
	mux.HandleFunc("GET /stores/{store}/range", func(w http.ResponseWriter, r *http.Request) {
		out := []map[string]any{}
		from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
		err := q.withStore(r.PathValue("store"), func(def *storeDef, ss []*store) error {
			if def.kind != kvStoreKind {
				return fmt.Errorf("store %s is not a key-value store", def.name)
			}
			end := ""
			if to != "" {
				end = to + "\x00"
			}
			var derr error
			for _, s := range ss {
				s.b.scan(from, end, func(k string, b []byte) bool {
					if k == metaKey {
						return true
					}
					v, err := def.valueSerde.dec(b)
					if err != nil {
						derr = err
						return false
					}
					out = append(out, map[string]any{"key": k, "value": v})
					return true
				})
			}
			return derr
		})
		writeJSON(w, out, err)
	})
	mux.HandleFunc("GET /stores/{store}/windows/{key}", func(w http.ResponseWriter, r *http.Request) {
		from, err1 := msParam(r, "from", math.MinInt64)
		to, err2 := msParam(r, "to", math.MaxInt64)
		if err := errors.Join(err1, err2); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := []map[string]any{}
		ws, err := FetchWindows[[]byte, any](rawQuerier{q}, r.PathValue("store"), []byte(r.PathValue("key")), from, to)
		for _, x := range ws {
			out = append(out, map[string]any{"start": x.Start, "end": x.End, "value": x.Value})
		}
		writeJSON(w, out, err)
	})
	return mux
}

// rawQuerier presents q's stores with a pass-through key serde, so the
// handler can use serialized keys from the URL.
type rawQuerier struct{ q Querier }

func (r rawQuerier) withStore(name string, fn func(*storeDef, []*store) error) error {
	return r.q.withStore(name, func(def *storeDef, ss []*store) error {
		raw := *def
		raw.keySerde = erase[[]byte](Bytes())
		return fn(&raw, ss)
	})
}

func msParam(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want Unix milliseconds", name, s)
	}
	return v, nil
}

func writeJSON(w http.ResponseWriter, v any, err error) {
	switch {
	case errors.Is(err, ErrNoStore):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
