package kafka

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// TestAdvertisePerListener: a client of the EXTERNAL listener learns every
// broker's EXTERNAL address, this node's from its listener and the others'
// from the endpoints they registered; a broker without that listener keeps
// its default address.
func TestAdvertisePerListener(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, b := range []cluster.Broker{
		{ID: 2, Host: "10.0.0.2", Port: 9092, Listeners: []cluster.Endpoint{
			{Name: "INTERNAL", Protocol: "PLAINTEXT", Host: "10.0.0.2", Port: 9092},
			{Name: "EXTERNAL", Protocol: "SASL_SSL", Host: "b2.example.com", Port: 19092},
		}},
		{ID: 3, Host: "10.0.0.3", Port: 9092},
	} {
		if err := ts.meta.RegisterBroker(b); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	external := Listener{Name: "EXTERNAL", Protocol: Plaintext, Advertised: cluster.Broker{Host: "b1.example.com", Port: 19092}}
	go func() { served <- ts.s.ServeListener(ln, external) }()
	t.Cleanup(func() {
		_ = ln.Close()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Error("EXTERNAL listener did not stop")
		}
	})
	want := map[int32]string{
		testNode: "b1.example.com:19092",
		2:        "b2.example.com:19092",
		3:        "10.0.0.3:9092",
	}
	addrOf := func(host string, port int32) string { return net.JoinHostPort(host, strconv.Itoa(int(port))) }

	rc := dialRaw(t, ln.Addr().String())
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(9)
	got := map[int32]string{}
	for _, b := range rc.roundTrip(md).(*kmsg.MetadataResponse).Brokers {
		got[b.NodeID] = addrOf(b.Host, b.Port)
	}
	for id, addr := range want {
		if got[id] != addr {
			t.Errorf("Metadata on EXTERNAL: broker %d at %q, want %q (all: %v)", id, got[id], addr, got)
		}
	}
	dc := kmsg.NewPtrDescribeClusterRequest()
	for _, b := range rc.roundTrip(dc).(*kmsg.DescribeClusterResponse).Brokers {
		if addrOf(b.Host, b.Port) != want[b.NodeID] {
			t.Errorf("DescribeCluster on EXTERNAL: broker %d at %s, want %s", b.NodeID, addrOf(b.Host, b.Port), want[b.NodeID])
		}
	}

	// The default listener still answers with the registered addresses.
	plain := dialRaw(t, ts.addr)
	for _, b := range plain.roundTrip(kmsg.NewPtrMetadataRequest()).(*kmsg.MetadataResponse).Brokers {
		if b.NodeID == 2 && addrOf(b.Host, b.Port) != "10.0.0.2:9092" {
			t.Errorf("Metadata on the default listener: broker 2 at %s, want 10.0.0.2:9092", addrOf(b.Host, b.Port))
		}
	}
}
