package streams_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/examples"
	"github.com/tributary-io/tributary/streams/streamstest"
)

func TestQueryHandler(t *testing.T) {
	b := streams.NewBuilder()
	examples.WordCount(b, "lines", "counts")
	examples.PageViewsPerUser(b, "views", "per-user", 0)
	d := buildDriver(t, b)
	if err := streamstest.Input(d, "lines", streams.String(), streams.String()).Pipe("", "b a b c", 1); err != nil {
		t.Fatal(err)
	}
	views := streamstest.Input(d, "views", streams.String(), streams.JSON[examples.PageView]())
	for _, at := range []int64{1_000, 2_000, 400_000} {
		if err := views.Pipe("", examples.PageView{User: "ann", At: at}, at); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(streams.QueryHandler(d.Querier()))
	defer srv.Close()
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/stores/word-counts/keys/b", 200, `{"key":"b","value":2}`},
		{"/stores/word-counts/keys/zzz", 404, ""},
		{"/stores/nope/keys/b", 404, ""},
		{"/stores/word-counts/range?from=a&to=b", 200, `[{"key":"a","value":1},{"key":"b","value":2}]`},
		{"/stores/page-views-per-user/windows/ann", 200, `[{"end":300000,"start":0,"value":2},{"end":600000,"start":300000,"value":1}]`},
		{"/stores/page-views-per-user/windows/ann?from=1&to=x", 400, ""},
	}
	client := http.Client{Timeout: 5 * time.Second}
	for _, tt := range tests {
		resp, err := client.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		if resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
		if tt.want != "" {
			var want any
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if string(gb) != string(wb) {
				t.Fatalf("%s: %s, want %s", tt.path, gb, wb)
			}
		}
	}
}
