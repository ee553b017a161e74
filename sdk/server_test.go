package sdk

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/tributary-io/tributary/plugins/pluginpb"
)

// memSource serves count records "r0".."r<count-1>"; position i+1 (8 bytes)
// follows record i. With greedy set it ignores max and returns everything
// left, as a careless source might.
type memSource struct {
	state *memState
	next  uint64
	count uint64
	greed bool
}

// memState is what the test observes across instances.
type memState struct {
	mu      sync.Mutex
	commits [][]Position
	written []Record
	flushes int
	closed  int
}

func (s *memSource) Open(_ context.Context, cfg Config, pos Position) error {
	s.count, s.greed = uint64(cfg.Int("count")), cfg.Bool("greedy")
	if pos != nil {
		s.next = binary.BigEndian.Uint64(pos)
	}
	return nil
}

func (s *memSource) Read(ctx context.Context, max int) ([]Record, error) {
	if s.next >= s.count {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var out []Record
	for s.next < s.count && (s.greed || len(out) < max) {
		out = append(out, Record{Value: fmt.Appendf(nil, "r%d", s.next), Position: binary.BigEndian.AppendUint64(nil, s.next+1)})
		s.next++
	}
	return out, nil
}

func (s *memSource) Commit(_ context.Context, ps []Position) error {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	s.state.commits = append(s.state.commits, ps)
	return nil
}

func (s *memSource) Close() error {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	s.state.closed++
	return nil
}

type memSink struct{ state *memState }

func (k *memSink) Open(context.Context, Config) error { return nil }
func (k *memSink) Write(_ context.Context, rs []Record) error {
	k.state.mu.Lock()
	defer k.state.mu.Unlock()
	k.state.written = append(k.state.written, rs...)
	return nil
}
func (k *memSink) Flush(context.Context) error {
	k.state.mu.Lock()
	defer k.state.mu.Unlock()
	k.state.flushes++
	return nil
}
func (k *memSink) Close() error { return nil }

func memPlugin(st *memState) *Plugin {
	return &Plugin{
		Name: "mem", Version: "1.2.3", Description: "test plugin",
		Source: &SourceDef{
			Spec: ConfigSpec{Fields: []Field{
				{Name: "count", Type: Int, Required: true, Min: Limit(0), Description: "records to serve"},
				{Name: "greedy", Type: Bool, Description: "ignore max"},
			}},
			Validate: func(c Config) []Problem {
				if c.Bool("greedy") && c.Int("count") > 1000 {
					return []Problem{{Field: "count", Value: fmt.Sprint(c.Int("count")), Reason: "too many for greedy"}}
				}
				return nil
			},
			New: func(Env) Source { return &memSource{state: st} },
		},
		Sink: &SinkDef{New: func(Env) Sink { return &memSink{state: st} }},
	}
}

type clients struct {
	plugin pluginpb.PluginClient
	source pluginpb.SourceClient
	sink   pluginpb.SinkClient
}

// serveMem serves p over an in-memory connection for the test's duration.
func serveMem(t *testing.T, p *Plugin) clients {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	srv := newServer(p, slog.New(slog.DiscardHandler))
	srv.register(gs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(lis)
	}()
	conn, err := grpc.NewClient("passthrough:///mem",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
		<-done
		srv.closeAll()
	})
	return clients{pluginpb.NewPluginClient(conn), pluginpb.NewSourceClient(conn), pluginpb.NewSinkClient(conn)}
}

func TestServerManifestAndValidate(t *testing.T) {
	c := serveMem(t, memPlugin(&memState{}))
	ctx := context.Background()
	m, err := c.plugin.Manifest(ctx, &pluginpb.ManifestRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "mem" || m.Version != "1.2.3" || m.SdkVersion != SDKVersion || len(m.Kinds) != 2 {
		t.Fatalf("manifest = %v", m)
	}
	spec, err := SpecFromProto(m.SourceSpec)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := spec.Field("count"); !ok || f.Type != Int || !f.Required || f.Min == nil || *f.Min != 0 {
		t.Fatalf("count field over the wire = %+v", f)
	}
	cases := []struct {
		name   string
		kind   pluginpb.Kind
		config map[string]string
		want   []string // fields with problems
	}{
		{"valid", pluginpb.Kind_KIND_SOURCE, map[string]string{"count": "3"}, nil},
		{"all field problems", pluginpb.Kind_KIND_SOURCE, map[string]string{"greedy": "maybe", "x": "1"}, []string{"x", "count", "greedy"}},
		{"cross-field hook", pluginpb.Kind_KIND_SOURCE, map[string]string{"count": "5000", "greedy": "true"}, []string{"count"}},
		{"sink", pluginpb.Kind_KIND_SINK, map[string]string{"nope": "1"}, []string{"nope"}},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			resp, err := c.plugin.Validate(ctx, &pluginpb.ValidateRequest{Kind: cs.kind, Config: cs.config})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range resp.Problems {
				got = append(got, p.Field)
			}
			if strings.Join(got, ",") != strings.Join(cs.want, ",") {
				t.Fatalf("problem fields = %v, want %v (%v)", got, cs.want, resp.Problems)
			}
		})
	}
	if _, err := c.plugin.Validate(ctx, &pluginpb.ValidateRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("validate without kind: %v", err)
	}
}

func TestServerSourceLifecycle(t *testing.T) {
	st := &memState{}
	c := serveMem(t, memPlugin(st))
	ctx := context.Background()

	bad, err := c.source.Open(ctx, &pluginpb.SourceOpenRequest{Config: map[string]string{"count": "-1"}})
	if err != nil || len(bad.Problems) != 1 || bad.Instance != 0 {
		t.Fatalf("open with a bad config = %v, %v", bad, err)
	}
	open, err := c.source.Open(ctx, &pluginpb.SourceOpenRequest{Config: map[string]string{"count": "10", "greedy": "true"}})
	if err != nil || open.Instance == 0 {
		t.Fatalf("open = %v, %v", open, err)
	}
	// The greedy source returns all ten records at once; the server hands
	// them out within each request's limits and keeps the rest.
	var got []string
	var last []byte
	for _, lim := range []struct{ recs, bytes uint64 }{{3, 0}, {100, 2 * (2 + 8 + recordOverhead)}, {100, 1}, {100, 0}} {
		resp, err := c.source.Read(ctx, &pluginpb.ReadRequest{Instance: open.Instance, MaxRecords: uint32(lim.recs), MaxBytes: lim.bytes, MaxWaitMs: 10})
		if err != nil {
			t.Fatal(err)
		}
		n := len(resp.Records)
		switch {
		case lim.recs == 3 && n != 3, lim.bytes > 1 && n != 2, lim.bytes == 1 && n != 1:
			t.Fatalf("read with limits %+v returned %d records", lim, n)
		}
		for _, r := range resp.Records {
			got = append(got, string(r.Value))
			last = r.Position
		}
	}
	if want := "r0 r1 r2 r3 r4 r5 r6 r7 r8 r9"; strings.Join(got, " ") != want {
		t.Fatalf("records = %v, want %s", got, want)
	}
	// Nothing left: the read waits max_wait_ms and answers with no records.
	start := time.Now()
	resp, err := c.source.Read(ctx, &pluginpb.ReadRequest{Instance: open.Instance, MaxWaitMs: 50})
	if err != nil || len(resp.Records) != 0 {
		t.Fatalf("idle read = %v, %v", resp, err)
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Fatalf("idle read answered after %v, want about 50ms", waited)
	}
	if _, err := c.source.Commit(ctx, &pluginpb.CommitRequest{Instance: open.Instance, Positions: [][]byte{last}}); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	commits := st.commits
	st.mu.Unlock()
	if len(commits) != 1 || !bytes.Equal(commits[0][0], last) {
		t.Fatalf("commits = %v", commits)
	}
	if _, err := c.source.Close(ctx, &pluginpb.CloseRequest{Instance: open.Instance}); err != nil {
		t.Fatal(err)
	}
	for _, call := range []func() error{
		func() error {
			_, err := c.source.Read(ctx, &pluginpb.ReadRequest{Instance: open.Instance})
			return err
		},
		func() error {
			_, err := c.source.Close(ctx, &pluginpb.CloseRequest{Instance: open.Instance})
			return err
		},
	} {
		if err := call(); status.Code(err) != codes.NotFound {
			t.Fatalf("call after close: %v, want NotFound", err)
		}
	}

	// Reopening at a position resumes after it.
	re, err := c.source.Open(ctx, &pluginpb.SourceOpenRequest{Config: map[string]string{"count": "10"}, Position: binary.BigEndian.AppendUint64(nil, 7)})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = c.source.Read(ctx, &pluginpb.ReadRequest{Instance: re.Instance, MaxWaitMs: 10})
	if err != nil || len(resp.Records) != 3 || string(resp.Records[0].Value) != "r7" {
		t.Fatalf("read after reopen at 7 = %v, %v", resp, err)
	}
	hb, err := c.plugin.Heartbeat(ctx, &pluginpb.HeartbeatRequest{})
	if err != nil || hb.Instances != 1 {
		t.Fatalf("heartbeat = %v, %v", hb, err)
	}
}

func TestServerSink(t *testing.T) {
	st := &memState{}
	c := serveMem(t, memPlugin(st))
	ctx := context.Background()
	open, err := c.sink.Open(ctx, &pluginpb.SinkOpenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	in := []Record{
		{Key: nil, Value: []byte{}, Topic: "t", Partition: 2, Offset: 7, Timestamp: time.UnixMilli(1700000000123),
			Headers: []Header{{Key: "h", Value: []byte("v")}, {Key: "h", Value: nil}}},
		{Key: []byte{}, Value: nil},
		{Key: []byte("k"), Value: []byte("v")},
	}
	if _, err := c.sink.Write(ctx, &pluginpb.WriteRequest{Instance: open.Instance, Records: RecordsToProto(in)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.sink.Flush(ctx, &pluginpb.FlushRequest{Instance: open.Instance}); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	got, flushes := st.written, st.flushes
	st.mu.Unlock()
	if flushes != 1 || len(got) != len(in) {
		t.Fatalf("flushes = %d, written = %d", flushes, len(got))
	}
	// Null and empty keys and values stay apart across the wire.
	for i := range in {
		if (in[i].Key == nil) != (got[i].Key == nil) || (in[i].Value == nil) != (got[i].Value == nil) ||
			!bytes.Equal(in[i].Key, got[i].Key) || !bytes.Equal(in[i].Value, got[i].Value) {
			t.Errorf("record %d: key %#v value %#v, want key %#v value %#v", i, got[i].Key, got[i].Value, in[i].Key, in[i].Value)
		}
	}
	if r := got[0]; r.Topic != "t" || r.Partition != 2 || r.Offset != 7 || !r.Timestamp.Equal(in[0].Timestamp) || len(r.Headers) != 2 {
		t.Errorf("record 0 metadata = %+v", r)
	}
	if _, err := c.sink.Write(ctx, &pluginpb.WriteRequest{Instance: 999}); status.Code(err) != codes.NotFound {
		t.Fatalf("write to an unknown instance: %v", err)
	}
}

// noPosSource forgets positions, which the server refuses.
type noPosSource struct{}

func (noPosSource) Open(context.Context, Config, Position) error { return nil }
func (noPosSource) Read(context.Context, int) ([]Record, error) {
	return []Record{{Value: []byte("x")}}, nil
}
func (noPosSource) Close() error { return nil }

// failSource fails every Read with its own error.
type failSource struct{ noPosSource }

func (failSource) Read(context.Context, int) ([]Record, error) {
	return nil, fmt.Errorf("disk on fire")
}

func TestServerSourceErrors(t *testing.T) {
	cases := []struct {
		name string
		src  Source
		code codes.Code
		msg  string
	}{
		{"record without position", noPosSource{}, codes.FailedPrecondition, "without a position"},
		{"plugin error", failSource{}, codes.Unknown, "read: disk on fire"},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			p := &Plugin{Name: "e", Version: "0.0.1", Source: &SourceDef{New: func(Env) Source { return cs.src }}}
			c := serveMem(t, p)
			open, err := c.source.Open(context.Background(), &pluginpb.SourceOpenRequest{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.source.Read(context.Background(), &pluginpb.ReadRequest{Instance: open.Instance, MaxWaitMs: 10})
			if status.Code(err) != cs.code || !strings.Contains(err.Error(), cs.msg) {
				t.Fatalf("read: %v, want %v containing %q", err, cs.code, cs.msg)
			}
		})
	}
}

func TestLoggerSpeaksHclogJSON(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelDebug)
	log.Debug("d")
	log.Info("hello", "k", 1)
	log.Warn("w")
	log.Error("e", slog.Group("g", "time", "x"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	wantLevels := []string{"debug", "info", "warn", "error"}
	if len(lines) != len(wantLevels) {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["@level"] != wantLevels[i] {
			t.Errorf("line %d level %v, want %s", i, m["@level"], wantLevels[i])
		}
		ts, _ := m["@timestamp"].(string)
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil {
			t.Errorf("line %d timestamp %q does not parse as hclog's: %v", i, ts, err)
		}
	}
	if !strings.Contains(lines[1], `"@message":"hello"`) || !strings.Contains(lines[1], `"k":1`) {
		t.Errorf("info line = %s", lines[1])
	}
	if !strings.Contains(lines[3], `"g":{"time":"x"}`) {
		t.Errorf("grouped attributes must keep their keys: %s", lines[3])
	}
}
