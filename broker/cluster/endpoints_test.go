package cluster

import (
	"errors"
	"slices"
	"testing"
)

// A snapshot written before brokers registered their listeners still loads,
// and one with listeners keeps them through a marshal round trip.
func TestSnapshotBrokerListeners(t *testing.T) {
	old := `{"format":1,"cluster_id":"c","controller_id":1,"version":3,` +
		`"brokers":[{"id":1,"host":"h1","port":9092},{"id":2,"host":"h2","port":9092,"raft_addr":"h2:9093"}],"topics":[]}`
	snap, err := UnmarshalSnapshot([]byte(old))
	if err != nil {
		t.Fatalf("old snapshot: %v", err)
	}
	b, ok := snap.Broker(2)
	if !ok || b.Host != "h2" || b.Listeners != nil {
		t.Fatalf("old snapshot broker 2 = %+v, %v", b, ok)
	}
	if _, ok := b.Endpoint("PLAINTEXT"); ok {
		t.Fatal("a broker without registered listeners has no endpoint")
	}

	m := NewMetadata("c", 1)
	want := Broker{ID: 1, Host: "h1", Port: 9094, Listeners: []Endpoint{
		{Name: "SASL_SSL", Protocol: "SASL_SSL", Host: "h1", Port: 9094},
		{Name: "INTERNAL", Protocol: "SSL", Host: "10.0.0.1", Port: 9095},
	}}
	if err := m.Apply(Command{RegisterBroker: &BrokerRegistration{Broker: want}}); err != nil {
		t.Fatal(err)
	}
	data, err := MarshalSnapshot(m.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := back.Broker(1)
	if !got.Equal(want) {
		t.Fatalf("round trip: got %+v, want %+v", got, want)
	}
	e, ok := got.Endpoint("INTERNAL")
	if !ok || e.Protocol != "SSL" || e.Host != "10.0.0.1" || e.Port != 9095 {
		t.Fatalf("endpoint INTERNAL = %+v, %v", e, ok)
	}
}

func TestRegisterBrokerListenersValidated(t *testing.T) {
	base := func(ls ...Endpoint) Broker { return Broker{ID: 1, Host: "h", Port: 9092, Listeners: ls} }
	ok := Endpoint{Name: "A", Protocol: "PLAINTEXT", Host: "h", Port: 9092}
	for _, tc := range []struct {
		name string
		b    Broker
	}{
		{"unnamed", base(Endpoint{Protocol: "SSL", Host: "h", Port: 1})},
		{"no protocol", base(Endpoint{Name: "A", Host: "h", Port: 1})},
		{"no host", base(Endpoint{Name: "A", Protocol: "SSL", Port: 1})},
		{"bad port", base(Endpoint{Name: "A", Protocol: "SSL", Host: "h", Port: 70000})},
		{"twice", base(ok, ok)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetadata("c", 1)
			err := m.Apply(Command{RegisterBroker: &BrokerRegistration{Broker: tc.b}})
			if !errors.Is(err, ErrInvalidCommand) {
				t.Fatalf("got %v, want ErrInvalidCommand", err)
			}
		})
	}
}

// The stored record does not alias the registration's slice, and Equal
// compares listeners.
func TestRegisterBrokerListenersCopied(t *testing.T) {
	m := NewMetadata("c", 1)
	ls := []Endpoint{{Name: "A", Protocol: "PLAINTEXT", Host: "h", Port: 9092}}
	b := Broker{ID: 1, Host: "h", Port: 9092, Listeners: ls}
	if err := m.Apply(Command{RegisterBroker: &BrokerRegistration{Broker: b}}); err != nil {
		t.Fatal(err)
	}
	ls[0].Port = 1
	got, _ := m.Snapshot().Broker(1)
	if got.Listeners[0].Port != 9092 {
		t.Fatal("stored listeners alias the caller's slice")
	}
	other := got
	other.Listeners = slices.Clone(got.Listeners)
	other.Listeners[0].Name = "B"
	if got.Equal(other) || !got.Equal(got) {
		t.Fatal("Equal ignores listeners")
	}
}
