package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/txn"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// proxy forwards loopback TCP connections to the broker's current listener, so
// clients keep one address across broker restarts, and cuts connections on
// demand. The broker advertises the proxy's address, so all traffic passes here.
//
// While the broker restarts, a new connection waits (up to connectTimeout) for
// it to listen again, as a client's connect would be retried. Cuts spare
// connections younger than youngConn: franz-go takes a connection closed during
// its ApiVersions handshake for a TLS mismatch and fails the records, which a
// real network cut at that moment would do as well, but says nothing about the
// broker.
type proxy struct {
	ln      net.Listener
	backend atomic.Pointer[string]
	// muted drops the broker's answers (requests still reach it), so a test
	// can have the broker write batches whose acknowledgements are lost.
	muted atomic.Bool

	mu     sync.Mutex
	conns  map[net.Conn]time.Time // open connections, by when they were opened
	closed bool
	wg     sync.WaitGroup // the accept loop and every forwarding goroutine
}

func newProxy(t *testing.T) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, conns: map[net.Conn]time.Time{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) setBackend(addr string) { p.backend.Store(&addr) }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// track registers c; false when the proxy is closing.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = time.Now()
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *proxy) forward(client net.Conn) {
	defer p.wg.Done()
	if !p.track(client) {
		client.Close()
		return
	}
	defer p.untrack(client)
	var server net.Conn
	for deadline := time.Now().Add(connectTimeout); ; {
		b := p.backend.Load()
		var err error
		if b != nil {
			if server, err = net.DialTimeout("tcp", *b, time.Second); err == nil {
				break
			}
		}
		if time.Now().After(deadline) || p.isClosed() {
			return
		}
		time.Sleep(20 * time.Millisecond) // the broker is restarting
	}
	if !p.track(server) {
		server.Close()
		return
	}
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(&mutable{Conn: client, p: p}, server)
	<-done
	<-done
}

// mutable is a client connection whose writes (the broker's answers) vanish
// while the proxy is muted.
type mutable struct {
	net.Conn
	p *proxy
}

func (m *mutable) Write(b []byte) (int, error) {
	if m.p.muted.Load() {
		return len(b), nil
	}
	return m.Conn.Write(b)
}

// mute starts or stops dropping the broker's answers.
func (p *proxy) mute(on bool) { p.muted.Store(on) }

// Proxy timings.
const (
	connectTimeout = 10 * time.Second
	youngConn      = 200 * time.Millisecond
)

func (p *proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// cut closes every connection past its handshake and returns how many it closed.
func (p *proxy) cut() int {
	return p.closeOlder(youngConn)
}

// closeOlder closes the connections opened more than age ago.
func (p *proxy) closeOlder(age time.Duration) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c, opened := range p.conns {
		if time.Since(opened) >= age {
			c.Close()
			n++
		}
	}
	return n
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.closeOlder(0)
	p.wg.Wait()
}

// node is a broker over one data dir that can be restarted behind a proxy.
type node struct {
	t     *testing.T
	dir   string
	proxy *proxy
	mod   func(*broker.Config)
	b     *broker.Broker
}

func startNode(t *testing.T, mod func(*broker.Config)) *node {
	t.Helper()
	n := &node{t: t, dir: t.TempDir(), proxy: newProxy(t), mod: mod}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *node) addr() string { return n.proxy.addr() }

func (n *node) start() {
	n.t.Helper()
	cfg := broker.Config{
		DataDir:             n.dir,
		Listeners:           []string{"127.0.0.1:0"},
		AdvertisedListeners: []string{n.proxy.addr()},
		Logger:              quietLogger(),
		Groups: group.Config{
			Partitions:            5,
			InitialRebalanceDelay: 100 * time.Millisecond,
			MinSessionTimeout:     time.Second,
		},
		Txn: txn.Config{
			Partitions:            5,
			AbortTimedOutInterval: 100 * time.Millisecond,
		},
	}
	if n.mod != nil {
		n.mod(&cfg)
	}
	b, err := broker.New(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		n.t.Fatal(err)
	}
	n.b = b
	n.proxy.setBackend(b.Addrs()[0].String())
}

func (n *node) stop() {
	if n.b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.b.Shutdown(ctx); err != nil {
		n.t.Errorf("shutdown: %v", err)
	}
	n.b = nil
}

// restart stops the broker (clients see their connections drop) and starts it
// again over the same data.
func (n *node) restart() {
	n.t.Helper()
	n.stop()
	n.start()
}

// newClient returns a client of the node closed at the end of the test.
func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RetryTimeout(time.Minute)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopics(t *testing.T, addr string, partitions int32, topics ...string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resps, err := adm.CreateTopics(ctx, partitions, 1, nil, topics...)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		t.Fatalf("create topics %v: %v", topics, err)
	}
}

// sentinelPrefix starts the values readAll appends to every partition to know
// where the data ends; they are never returned.
const sentinelPrefix = "sentinel-"

// readAll returns every record of topic (without the sentinels), read from the
// start with read_committed or read_uncommitted. It first appends a plain
// sentinel record to each partition and reads until it has seen all of them,
// since aborted records and markers are skipped by the client and leave no
// offsets behind to count. Under read_committed a sentinel is visible only once
// every transaction before it has ended.
func readAll(t *testing.T, addr, topic string, committed bool) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := kadm.NewClient(newClient(t, addr))
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	prod := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DisableIdempotentWrite())
	sentinel := fmt.Appendf(nil, "%s%d", sentinelPrefix, time.Now().UnixNano())
	waiting := map[int32]bool{}
	ends.Each(func(o kadm.ListedOffset) {
		waiting[o.Partition] = true
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: o.Partition, Value: sentinel}).FirstErr(); err != nil {
			t.Fatalf("sentinel to %s/%d: %v", topic, o.Partition, err)
		}
	})
	opts := []kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl := newClient(t, addr, opts...)
	defer cl.Close()
	var out []*kgo.Record
	for len(waiting) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %v; no sentinel yet from partitions %v", topic, ctx.Err(), waiting)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == string(sentinel) {
				delete(waiting, r.Partition)
			}
			if strings.HasPrefix(string(r.Value), sentinelPrefix) {
				return
			}
			out = append(out, r)
		})
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func fromU64(b []byte) (uint64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}
