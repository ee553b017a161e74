package deploy

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestBalancerHandsEveryMemberTheWorkerList: every member gets every
// configs partition and the same sorted, de-duplicated worker list.
func TestBalancerHandsEveryMemberTheWorkerList(t *testing.T) {
	var members []kmsg.JoinGroupResponseMember
	for i, id := range []string{"w3", "w1", "w2", "w1"} {
		b := &balancer{self: memberMeta{ID: id}}
		members = append(members, kmsg.JoinGroupResponseMember{MemberID: fmt.Sprint("m", i), ProtocolMetadata: b.JoinGroupMetadata(nil, nil, 0)})
	}
	leader := &balancer{self: memberMeta{ID: "w1"}}
	mb, topics, err := leader.MemberBalancer(members)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := topics[ConfigsTopic]; !ok || len(topics) != 1 {
		t.Fatalf("topics %v", topics)
	}
	out := mb.Balance(map[string]int32{ConfigsTopic: 1}).IntoSyncAssignment()
	if len(out) != 4 {
		t.Fatalf("%d assignments, want 4", len(out))
	}
	for _, a := range out {
		got := &balancer{}
		parts, err := got.ParseSyncAssignment(a.MemberAssignment)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(parts[ConfigsTopic], []int32{0}) {
			t.Fatalf("member %s: configs partitions %v", a.MemberID, parts)
		}
		ws, _ := got.members()
		var ids []string
		for _, w := range ws {
			ids = append(ids, w.ID)
		}
		if !slices.Equal(ids, []string{"w1", "w2", "w3"}) {
			t.Fatalf("member %s: workers %v", a.MemberID, ids)
		}
	}
	if _, _, err := leader.MemberBalancer([]kmsg.JoinGroupResponseMember{{MemberID: "x", ProtocolMetadata: []byte("{")}}); err == nil {
		t.Fatal("bad metadata accepted")
	}
}

// TestUnitsAreSharedAndEachOwnedOnce: with any number of workers each unit
// has exactly one owner and the counts differ by at most one.
func TestUnitsAreSharedAndEachOwnedOnce(t *testing.T) {
	specs := map[string]*Spec{}
	for i := range 3 {
		s := &Spec{Kind: KindConnector, Name: fmt.Sprint("c", i), Config: map[string]string{"plugin": "p", "type": "sink", "topics": "t", "tasks.max": fmt.Sprint(i + 1)}}
		specs[s.Key()] = s
	}
	p := &Spec{Kind: KindPipeline, Name: "p"}
	specs[p.Key()] = p
	for _, n := range []int{1, 2, 3, 5, 8} {
		var ws []memberMeta
		for i := range n {
			ws = append(ws, memberMeta{ID: fmt.Sprint("w", i)})
		}
		owned := map[string]int{}
		var counts []int
		for i := range n {
			w := &Worker{cfg: Config{ID: ws[i].ID}, bal: &balancer{workers: ws}, specs: specs}
			all, mine := w.assigned()
			if len(all) != 7 {
				t.Fatalf("%d units, want 7 (1+2+3 tasks and a pipeline)", len(all))
			}
			for id := range mine {
				owned[id]++
			}
			counts = append(counts, len(mine))
		}
		if len(owned) != 7 {
			t.Fatalf("%d workers: %d units owned, want 7", n, len(owned))
		}
		for id, c := range owned {
			if c != 1 {
				t.Fatalf("%d workers: unit %s has %d owners", n, id, c)
			}
		}
		if slices.Max(counts)-slices.Min(counts) > 1 {
			t.Fatalf("%d workers: unbalanced %v", n, counts)
		}
	}
}

func TestSpecFingerprintChangesOnRestartAndContent(t *testing.T) {
	s := &Spec{Kind: KindConnector, Name: "c", Config: map[string]string{"a": "1"}}
	base := s.fingerprint(0)
	s.TaskRestarts = map[int]int64{1: 1}
	if s.fingerprint(0) != base || s.fingerprint(1) == base {
		t.Fatal("a task restart must change only that task's fingerprint")
	}
	s.Config["a"] = "2"
	if s.fingerprint(0) == base {
		t.Fatal("a config change must change the fingerprint")
	}
	v, _ := json.Marshal(s)
	back, err := decodeSpec(v)
	if err != nil || !SameContent(s, back) || back.TaskRestarts[1] != 1 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}
