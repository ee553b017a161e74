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
