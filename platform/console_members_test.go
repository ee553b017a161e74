package platform

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// testGroupMembers joins a live consumer to a new group and checks the
// group's console page, over HTTP and in Chromium, lists the member (its
// client id and host) and the partitions assigned to it; once the consumer
// leaves, the page says the group is empty.
func testGroupMembers(t *testing.T, f *consoleFixture) {
	const group, client = "live-readers", "console-member-test"
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.kafka), kgo.ClientID(client), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(fixTopic), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() { // the member: poll until the test is done with it
		defer close(polled)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	leave := func() {
		cancel()
		<-polled
		cl.Close() // leaves the group
	}
	defer func() {
		if ctx.Err() == nil {
			leave()
		}
	}()

	page := f.base + "/console/groups/" + group
	// All three partitions of orders go to the one member.
	want := []string{"Group " + group, `<table id="members">`, client, "127.0.0.1", fixTopic + " [0,1,2]", "Stable"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := fetchPage(t, page)
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group page does not show %q after 30s:\n%s", missing, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkPage(t, "chromium", chromium(t, "--dump-dom", page), consolePage{path: page, want: want})

	leave()
	waitFor(t, "the group page to show no members", func() bool {
		_, body := fetchPage(t, page)
		return strings.Contains(body, "No members (the group is empty).")
	})
}

// testConnectorError creates a sink connector whose directory cannot be
// made (under /proc): its task fails, and the workers page, over HTTP and
// in Chromium, shows the connector with the error. The connector is
// deleted afterwards.
func testConnectorError(t *testing.T, f *consoleFixture) {
	const name = "broken-sink"
	apiCall(t, f.base, "POST", "/connectors", map[string]any{"name": name, "config": map[string]string{
		"plugin": "file", "type": "sink", "topics": fixTopic, "dir": "/proc/tributary-cannot-create/out"}}, 201)
	defer apiCall(t, f.base, "DELETE", "/connectors/"+name, nil, 204)
	row := func(body string) string { // the broken connector's table row
		_, rest, ok := strings.Cut(body, "<td>"+name+"</td>")
		if !ok {
			return ""
		}
		r, _, _ := strings.Cut(rest, "</tr>")
		return r
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, body := fetchPage(t, f.base+"/console/workers")
		if r := row(body); strings.Contains(r, `<pre class="value bad">`) && strings.Contains(r, "tributary-cannot-create") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the workers page shows no error for %s after 60s:\n%s", name, row(body))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r := row(chromium(t, "--dump-dom", f.base+"/console/workers")); !strings.Contains(r, "tributary-cannot-create") {
		t.Errorf("in Chromium the workers page shows no error for %s: %s", name, r)
	}
}
