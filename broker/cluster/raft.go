package cluster

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// RaftConfig configures the raft metadata driver. Defaults are written on each
// field and applied by OpenRaft.
type RaftConfig struct {
	// NodeID is this node (node.id); it is also its raft server id.
	NodeID int32
	// ClusterID names the cluster; an empty one takes the stored one.
	ClusterID string
	// Dir holds raft.db (bolt log and stable store) and snapshots/.
	Dir string
	// Addr is the raft address to listen on (host:port). Default ":9093".
	// Ignored when Transport is set.
	Addr string
	// AdvertisedAddr is the address other nodes reach this one at. Default Addr
	// (with the bound port).
	AdvertisedAddr string
	// Peers are the initial voters, "id@host:port", all nodes started with the
	// same list; used only when Dir holds no raft state yet. Empty: this node
	// starts a cluster of its own, and others join it with add-node.
	Peers []string
	// MaxVoters bounds the voters add-node creates (3 or 5); later nodes join as
	// non-voters. Default 3.
	MaxVoters int
	// HeartbeatInterval is how often this broker heartbeats the controller.
	// Default 500ms.
	HeartbeatInterval time.Duration
	// SessionTimeout is how long the controller waits for a heartbeat before it
	// fences a broker and moves its leaderships. Default 3s.
	SessionTimeout time.Duration
	// PreferredElectionInterval is how often the controller moves leadership back
	// to preferred replicas that are in sync again. Default 10s; negative disables.
	PreferredElectionInterval time.Duration
	// ElectionTimeout is raft's heartbeat and election timeout. Default 1s.
	ElectionTimeout time.Duration
	// RPCTimeout bounds one controller RPC. Default 5s.
	RPCTimeout time.Duration
	// Logger receives the driver's logs. Default slog.Default().
	Logger *slog.Logger
	// Random is the source of topic ids. Default crypto/rand.
	Random io.Reader
	// Transport and Caller replace the TCP transport (tests: raft.InmemTransport
	// and a function answering controller RPCs in memory). Both or neither.
	Transport raft.Transport
	Caller    func(addr string, req ControllerRequest, timeout time.Duration) (ControllerResponse, error)
	// Now is the clock of heartbeat deadlines. Default time.Now.
	Now func() time.Time
}

func (c *RaftConfig) ensureDefaults() {
	if c.Addr == "" {
		c.Addr = ":9093"
	}
	if c.MaxVoters == 0 {
		c.MaxVoters = 3
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 500 * time.Millisecond
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 3 * time.Second
	}
	if c.PreferredElectionInterval == 0 {
		c.PreferredElectionInterval = 10 * time.Second
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = time.Second
	}
	if c.RPCTimeout == 0 {
		c.RPCTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Random == nil {
		c.Random = rand.Reader
	}
	if c.Caller == nil {
		c.Caller = Call
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// ParsePeer splits "id@host:port".
func ParsePeer(s string) (int32, string, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			id, err := strconv.ParseInt(s[:i], 10, 32)
			if err != nil || id < 0 {
				return 0, "", fmt.Errorf("raft peer %q: the id before '@' is not a node id", s)
			}
			if _, _, err := net.SplitHostPort(s[i+1:]); err != nil {
				return 0, "", fmt.Errorf("raft peer %q: %w", s, err)
			}
			return int32(id), s[i+1:], nil
		}
	}
	return 0, "", fmt.Errorf("raft peer %q: want id@host:port", s)
}

// Raft is the replicated metadata driver: the same state machine as Local,
// with commands committed through hashicorp/raft. Every node reads its local
// copy; changes are proposed on the raft leader (the controller), and a
// follower forwards them there over the controller RPC on the raft port. The
// controller also tracks broker heartbeats, fences silent brokers and elects
// leaders for their partitions (raft_controller.go).
//
// Goroutines: raft's own; the mux accept loop (TCP only); the heartbeat loop of
// this broker; the controller loop while this node leads. Close stops and waits
// for all of them.
type Raft struct {
	cfg  RaftConfig
	meta *Metadata
	r    *raft.Raft
	self string // advertised raft address

	// view is the last applied snapshot with ControllerID set to the raft leader.
	view atomic.Pointer[Snapshot]
	// published is the version every subscriber has seen (waitVersion).
	published atomic.Uint64

	subMu sync.Mutex // serialises publish and Subscribe
	subs  []func(*Snapshot)

	// propMu serialises proposals on the leader (proposer.lock).
	propMu sync.Mutex

	mux   *raftMux
	store *raftboltdb.BoltStore
	trans raft.Transport

	ctrl *controllerState

	// rpcReady is set once r is: the raft port accepts controller RPCs
	// before NewRaft returns, and those must not touch a nil r.
	rpcReady atomic.Bool
	// appliedTerm is the raft term in which this node, as leader, completed
	// a barrier: everything earlier terms committed is applied to meta.
	appliedTerm atomic.Uint64

	closeOnce sync.Once
	stop      chan struct{}
	wg        sync.WaitGroup
	// applied is signalled (closed and replaced) after each apply, for
	// forwarders waiting to read their own write.
	appliedMu sync.Mutex
	applied   chan struct{}
}

// OpenRaft opens (or bootstraps) the raft metadata in cfg.Dir and starts the
// driver. The broker registers itself with RegisterBroker once its listeners
// are bound, then heartbeats start (StartHeartbeats).
func OpenRaft(cfg RaftConfig) (*Raft, error) {
	cfg.ensureDefaults()
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("open raft metadata: %w", err)
	}
	d := &Raft{cfg: cfg, meta: NewMetadata(cfg.ClusterID, -1), stop: make(chan struct{}), applied: make(chan struct{})}
	d.ctrl = newControllerState()
	d.view.Store(d.meta.Snapshot())
	ok := false
	defer func() {
		if !ok {
			d.closeResources()
		}
	}()

	var err error
	d.store, err = raftboltdb.NewBoltStore(filepath.Join(cfg.Dir, "raft.db"))
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w", cfg.Dir, err)
	}
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: os.Stderr})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hlog)
	if err != nil {
		return nil, fmt.Errorf("open raft snapshots %s: %w", cfg.Dir, err)
	}
	if cfg.Transport != nil {
		d.trans = cfg.Transport
		d.self = string(cfg.Transport.LocalAddr())
	} else {
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("listen on raft address %s: %w", cfg.Addr, err)
		}
		d.self = cfg.AdvertisedAddr
		if d.self == "" {
			d.self = advertisedRaftAddr(cfg.Addr, ln.Addr())
		}
		d.mux = newRaftMux(ln, func(c net.Conn) { serveRPC(c, cfg.RPCTimeout, d.handleRPC) })
		d.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: d.mux, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
		})
	}

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(strconv.Itoa(int(cfg.NodeID)))
	rc.HeartbeatTimeout = cfg.ElectionTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.ElectionTimeout / 2
	rc.CommitTimeout = 20 * time.Millisecond
	rc.Logger = hlog
	existing, err := raft.HasExistingState(d.store, d.store, snaps)
	if err != nil {
		return nil, fmt.Errorf("open raft metadata: %w", err)
	}
	d.r, err = raft.NewRaft(rc, (*raftFSM)(d), d.store, d.store, snaps, d.trans)
	if err != nil {
		return nil, fmt.Errorf("start raft: %w", err)
	}
	d.rpcReady.Store(true)
	if !existing {
		servers, err := bootstrapServers(cfg, d.self)
		if err != nil {
			return nil, err
		}
		// A node joining an existing cluster (started with the cluster's
		// peers, not among them) bootstraps nothing: it waits with an empty
		// log until add-node makes it a member and the leader replicates the
		// metadata to it.
		joining := !slices.ContainsFunc(servers, func(s raft.Server) bool { return s.ID == rc.LocalID })
		if joining {
			cfg.Logger.Info("not among the cluster peers: waiting to be added with `tributary cluster add-node`",
				"node", cfg.NodeID, "raft_addr", d.self)
		} else {
			if err := d.r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
				return nil, fmt.Errorf("bootstrap raft: %w", err)
			}
		}
	}
	d.wg.Add(1)
	go d.watchLeadership()
	ok = true
	return d, nil
}

// advertisedRaftAddr turns a wildcard listen address into a reachable one.
func advertisedRaftAddr(listen string, bound net.Addr) string {
	host, _, _ := net.SplitHostPort(listen)
	port := bound.(*net.TCPAddr).Port
	if host == "" || net.ParseIP(host).IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		} else {
			host = "localhost"
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func bootstrapServers(cfg RaftConfig, self string) ([]raft.Server, error) {
	if len(cfg.Peers) == 0 {
		return []raft.Server{{ID: raft.ServerID(strconv.Itoa(int(cfg.NodeID))), Address: raft.ServerAddress(self)}}, nil
	}
	var servers []raft.Server
	for _, p := range cfg.Peers {
		id, addr, err := ParsePeer(p)
		if err != nil {
			return nil, err
		}
		suffrage := raft.Voter
		if len(servers) >= cfg.MaxVoters {
			suffrage = raft.Nonvoter
		}
		servers = append(servers, raft.Server{ID: raft.ServerID(strconv.Itoa(int(id))), Address: raft.ServerAddress(addr), Suffrage: suffrage})
	}
	return servers, nil
}

// RaftAddr is this node's advertised raft address.
func (d *Raft) RaftAddr() string { return d.self }

// Snapshot returns the current immutable view; ControllerID is the raft leader
// (-1 while there is none).
func (d *Raft) Snapshot() *Snapshot { return d.view.Load() }

// Subscribe calls fn with the current snapshot, and again after every change,
// in order, on raft's applying goroutine. fn must not wait for a proposal.
func (d *Raft) Subscribe(fn func(*Snapshot)) {
	d.subMu.Lock()
	defer d.subMu.Unlock()
	fn(d.view.Load())
	d.subs = append(d.subs, fn)
}

// publish installs a new view with the current controller id and calls the
// subscribers.
func (d *Raft) publish() {
	d.subMu.Lock()
	defer d.subMu.Unlock()
	s := *d.meta.Snapshot()
	s.ControllerID = d.leaderID()
	d.view.Store(&s)
	for _, fn := range d.subs {
		fn(&s)
	}
	d.published.Store(s.Version)
	d.appliedMu.Lock()
	close(d.applied)
	d.applied = make(chan struct{})
	d.appliedMu.Unlock()
}

// leaderID is the raft leader's node id, or -1.
func (d *Raft) leaderID() int32 {
	if d.r == nil {
		return -1
	}
	_, id := d.r.LeaderWithID()
	n, err := strconv.ParseInt(string(id), 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

// IsController reports whether this node is the raft leader.
func (d *Raft) IsController() bool { return d.r.State() == raft.Leader }

// RaftStatus is this node's raft role and log positions, for metrics.
type RaftStatus struct {
	// State is Leader, Follower, Candidate or Shutdown.
	State string
	// Term is the current raft term; it rises with every election.
	Term uint64
	// LastIndex, CommitIndex and AppliedIndex are the last entry in the
	// local raft log, the last one known committed, and the last one the
	// metadata state machine applied.
	LastIndex, CommitIndex, AppliedIndex uint64
}

// RaftStates are the values of RaftStatus.State.
var RaftStates = []string{raft.Leader.String(), raft.Follower.String(), raft.Candidate.String(), raft.Shutdown.String()}

// RaftStatus reports this node's raft role and log positions. hashicorp/raft
// answers each from atomics or a short lock, never through its main loop,
// so a metrics scrape does not wait on a busy or stuck raft.
func (d *Raft) RaftStatus() RaftStatus {
	return RaftStatus{State: d.r.State().String(), Term: d.r.CurrentTerm(),
		LastIndex: d.r.LastIndex(), CommitIndex: d.r.CommitIndex(), AppliedIndex: d.r.AppliedIndex()}
}

// waitVersion waits until the local state has applied version v (a forwarded
// write), bounded by the RPC timeout.
func (d *Raft) waitVersion(v uint64) {
	deadline := time.NewTimer(d.cfg.RPCTimeout)
	defer deadline.Stop()
	for {
		d.appliedMu.Lock()
		ch := d.applied
		d.appliedMu.Unlock()
		if d.published.Load() >= v {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			return
		case <-d.stop:
			return
		}
	}
}

// Close stops heartbeats and the controller, shuts raft down and closes the
// stores. Calling it again does nothing.
func (d *Raft) Close() error {
	var err error
	d.closeOnce.Do(func() {
		close(d.stop)
		d.wg.Wait()
		err = d.closeResources()
	})
	return err
}

func (d *Raft) closeResources() error {
	var errs []error
	if d.r != nil {
		if e := d.r.Shutdown().Error(); e != nil {
			errs = append(errs, fmt.Errorf("shut down raft: %w", e))
		}
	}
	if c, ok := d.trans.(io.Closer); ok && d.trans != nil {
		if e := c.Close(); e != nil {
			errs = append(errs, fmt.Errorf("close raft transport: %w", e))
		}
	}
	if d.mux != nil {
		d.mux.Close()
		d.mux.wait()
	}
	if d.store != nil {
		if e := d.store.Close(); e != nil {
			errs = append(errs, fmt.Errorf("close raft log: %w", e))
		}
	}
	return errors.Join(errs...)
}
