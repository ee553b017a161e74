package streams_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/examples"
)

// TestFinalWindowsExactlyOnceWithKills runs the page-views example (5-minute
// windows, final results only) in two processes that are SIGKILLed and
// restarted, and checks that every window is emitted exactly once, with the
// count computed directly. The input is one partition in event-time order,
// so no record is late; a last view per user far in the future closes every
// window of the real views.
func TestFinalWindowsExactlyOnceWithKills(t *testing.T) {
	const (
		views, users = 60_000, 40
		kills        = 3
		app, in, out = "pv-eos", "pv-in", "pv-out"
		fiveMin      = 5 * 60 * 1000
	)
	addr := startBroker(t)
	createTopics(t, addr, 1, false, in)
	createTopics(t, addr, 4, false, out)
	want := map[string]int64{}
	var rs []*kgo.Record
	add := func(user string, at int64) {
		v, _ := json.Marshal(examples.PageView{User: user, Page: "/", At: at})
		rs = append(rs, &kgo.Record{Topic: in, Value: v})
	}
	for i := range views {
		at := int64(i) * 500 // 600 views per 5 minutes
		user := fmt.Sprintf("u%02d", (i*7)%users)
		add(user, at)
		want[fmt.Sprintf("%s@%d", user, at-at%fiveMin)]++
	}
	for u := range users {
		add(fmt.Sprintf("u%02d", u), int64(views)*500+10*fiveMin)
	}
	produce(t, addr, rs)

	env := []string{childAddrEnv + "=" + addr, childAppEnv + "=" + app, childInEnv + "=" + in,
		childOutEnv + "=" + out, childTopologyEnv + "=pageviews"}
	var mu sync.Mutex
	names := []string{"a", "b"}
	children := []*child{spawn(t, env, "a"), spawn(t, env, "b")}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range children {
			c.kill()
		}
	})
	restart := func(i int) {
		mu.Lock()
		defer mu.Unlock()
		children[i].kill()
		children[i] = spawn(t, env, names[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	adm := newAdmin(t, addr)
	inEnds, err := adm.ListEndOffsets(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	progress := func() int64 {
		offs, err := adm.FetchOffsets(ctx, app)
		if err != nil {
			return 0
		}
		o, _ := offs.Lookup(in, 0)
		return o.At
	}
	killed := 0
	deadline := time.Now().Add(3 * time.Minute)
	for !groupDoneRep(ctx, adm, app, app+"-views-by-user-repartition", in, inEnds) {
		if time.Now().After(deadline) {
			mu.Lock()
			for i, c := range children {
				t.Logf("instance %d:\n%s", i, tail(c.stderr.String(), 30))
			}
			mu.Unlock()
			t.Fatalf("not done before the deadline: %d of %d views committed, %d kills", progress(), len(rs), killed)
		}
		for i := range children {
			mu.Lock()
			exited := children[i].exited()
			mu.Unlock()
			if exited {
				t.Logf("instance %d exited: %s", i, tail(children[i].stderr.String(), 5))
				restart(i)
			}
		}
		if p := progress(); killed < kills && p >= int64(killed+1)*int64(len(rs))/(kills+2) {
			restart(killed % 2)
			killed++
		}
		time.Sleep(50 * time.Millisecond)
	}
	if killed < kills {
		t.Fatalf("only %d of %d kills happened before the input was done", killed, kills)
	}
	serde := streams.WindowedSerde(streams.String())
	got := map[string]int64{}
	output := readCommitted(t, addr, out)
	for _, r := range output {
		w, err := serde.Decode(r.Key)
		if err != nil {
			t.Fatal(err)
		}
		n, err := streams.Int64().Decode(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("%s@%d", w.Key, w.Start)
		if _, dup := got[k]; dup {
			t.Fatalf("window %s emitted twice", k)
		}
		got[k] = n
	}
	var bad []string
	for k, n := range want {
		if got[k] != n {
			bad = append(bad, fmt.Sprintf("%s: got %d want %d", k, got[k], n))
		}
	}
	if len(bad) > 0 || len(got) != len(want) {
		t.Fatalf("%d windows emitted, want %d; %d differ, first %v", len(got), len(want), len(bad), bad[:min(5, len(bad))])
	}
	t.Logf("%d windows each emitted once with the right count after %d SIGKILLs", len(got), killed)
}
