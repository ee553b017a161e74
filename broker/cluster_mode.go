package broker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/kafka"
	"github.com/tributary-io/tributary/broker/replication"
	"github.com/tributary-io/tributary/broker/txn"
)

// ClusterConfig turns a node into a member of a replicated cluster: metadata
// on raft, partitions replicated between brokers. A nil *ClusterConfig (the
// default) keeps the single-node broker with its file-backed metadata.
type ClusterConfig struct {
	// RaftAddr is the raft listen address (host:port). Default ":9093".
	RaftAddr string
	// RaftAdvertisedAddr is how other nodes reach this one's raft port. Default
	// RaftAddr, with the machine's host name for a wildcard host.
	RaftAdvertisedAddr string
	// Peers are the initial raft voters, "id@host:port", the same on every node
	// of a new cluster. Empty: a cluster of its own that others join (add-node).
	Peers []string
	// HeartbeatInterval (broker.heartbeat.interval.ms). Default 500ms.
	HeartbeatInterval time.Duration
	// SessionTimeout (broker.session.timeout.ms): a broker silent this long is
	// fenced and its leaderships move. Default 3s.
	SessionTimeout time.Duration
	// ElectionTimeout is raft's election timeout. Default 1s.
	ElectionTimeout time.Duration
	// ReplicaLagMax (replica.lag.time.max.ms). Default 30s.
	ReplicaLagMax time.Duration
	// ControlledShutdownTimeout bounds moving leaderships away on Shutdown.
	// Default 30s.
	ControlledShutdownTimeout time.Duration
	// MinBrokers is how many brokers must have registered before the internal
	// topics are created (their replication factor is min(3, brokers)).
	// Default: the number of peers, at most 3.
	MinBrokers int
}

func (c *ClusterConfig) ensureDefaults() {
	if c.RaftAddr == "" {
		c.RaftAddr = ":9093"
	}
	if c.ReplicaLagMax == 0 {
		c.ReplicaLagMax = 30 * time.Second
	}
	if c.ControlledShutdownTimeout == 0 {
		c.ControlledShutdownTimeout = 30 * time.Second
	}
	if c.MinBrokers == 0 {
		c.MinBrokers = max(min(len(c.Peers), 3), 1)
	}
}

// metadataStore is what the broker needs from a metadata driver; Local and
// Raft both implement it.
type metadataStore interface {
	kafka.MetadataStore
	Subscribe(fn func(*cluster.Snapshot))
	RegisterBroker(b cluster.Broker) error
	Close() error
}

// Both drivers satisfy the broker's view.
var (
	_ metadataStore = (*cluster.Local)(nil)
	_ metadataStore = (*cluster.Raft)(nil)
)

// openMetadata opens the single-node store, or the raft driver when the node
// is configured as a cluster member.
func (b *Broker) openMetadata(clusterID string) (metadataStore, error) {
	cfg := b.cfg
	dir := filepath.Join(cfg.DataDir, metadataDirName)
	if cfg.Cluster == nil {
		return cluster.OpenLocal(dir, cfg.NodeID, clusterID)
	}
	cc := cfg.Cluster
	r, err := cluster.OpenRaft(cluster.RaftConfig{
		NodeID: cfg.NodeID, ClusterID: clusterID, Dir: filepath.Join(dir, "raft"),
		Addr: cc.RaftAddr, AdvertisedAddr: cc.RaftAdvertisedAddr, Peers: cc.Peers,
		HeartbeatInterval: cc.HeartbeatInterval, SessionTimeout: cc.SessionTimeout,
		ElectionTimeout: cc.ElectionTimeout,
		Logger:          cfg.Logger.With("scope", "raft"),
		Now:             cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	b.raft = r
	return r, nil
}

// registerSelf registers this broker; on a cluster it retries until a
// controller is elected (ctx bounds it) and then starts the heartbeats.
func (b *Broker) registerSelf(ctx context.Context, self cluster.Broker) error {
	if b.raft == nil {
		return b.meta.RegisterBroker(self)
	}
	self.RaftAddr = b.raft.RaftAddr()
	if err := untilController(ctx, "register with the controller", func() error { return b.meta.RegisterBroker(self) }); err != nil {
		return err
	}
	// Catch up with the controller's metadata before anything reads it (an
	// old view would set the logs of newer topics aside as unknown). A
	// restarted node can register (forwarded by a peer) before the raft
	// leader, backing off from the dead peer it was, replicates to it: retry.
	if err := untilController(ctx, "catch up with the controller", b.raft.CatchUp); err != nil {
		return err
	}
	b.parts.Subscribe(b.meta)
	b.raft.StartHeartbeats(self)
	// Internal topics take their replication factor from the registered
	// brokers, so wait for the expected ones (bounded by ctx).
	for len(b.meta.Snapshot().Brokers) < b.cfg.Cluster.MinBrokers {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d brokers to register: %w", b.cfg.Cluster.MinBrokers, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// untilController calls fn until it succeeds or fails with an error other
// than cluster.ErrNotController (no controller known here yet) or
// cluster.ErrNotCaughtUp, every 200ms, bounded by ctx.
func untilController(ctx context.Context, what string, fn func() error) error {
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if !errors.Is(err, cluster.ErrNotController) && !errors.Is(err, cluster.ErrNotCaughtUp) {
			return fmt.Errorf("%s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// isrChanger adapts the raft driver to replication.ISRChanger.
type isrChanger struct{ r *cluster.Raft }

func (c isrChanger) AlterISR(topic string, partition, leader, epoch int32, isr []int32) error {
	return c.r.AlterISR(cluster.ISRChange{Topic: topic, Partition: partition, Leader: leader, LeaderEpoch: epoch, ISR: isr})
}

// replicationConfig adds the cluster's settings to the partition manager's.
func (b *Broker) replicationConfig(cfg replication.Config) replication.Config {
	if b.raft != nil {
		cfg.ISR = isrChanger{r: b.raft}
		cfg.ReplicaLagMax = b.cfg.Cluster.ReplicaLagMax
		cfg.Now = b.cfg.Now
	}
	return cfg
}

// appendReplicated appends a coordinator's batch to a partition this node must
// lead, and waits until the in-sync replicas have it, as an acks=all produce.
func appendReplicated(part *replication.Partition, batch []byte, notCoordinator error) error {
	if !part.IsLeader() {
		return fmt.Errorf("%w: %s is led by %d", notCoordinator, part.TopicPartition(), part.Leader())
	}
	info, err := part.AppendCoordinator(batch)
	if err != nil {
		return err
	}
	if err := part.WaitReplicated(info.LastOffset, 30*time.Second, nil); err != nil {
		if errors.Is(err, replication.ErrNotLeader) {
			return fmt.Errorf("%w: %v", notCoordinator, err)
		}
		return err
	}
	return nil
}

// coordKey names an internal partition.
type coordKey struct {
	topic string
	p     int32
}

// coordMover applies coordinator moves off the metadata goroutine: the
// subscriber records the wanted state per partition, one goroutine (owned by
// the broker: stop/done) loads or unloads.
type coordMover struct {
	mu      sync.Mutex
	pending map[coordKey]bool // true: load, false: unload
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// followCoordinators moves the group and transaction coordinators with the
// leadership of their internal partitions: a partition this node starts to
// lead (or leads at a new epoch) is loaded from its log, one it stops leading
// is unloaded. Call after both coordinators started (they loaded every
// partition); the first snapshot unloads what another node leads and reloads
// what this node came to lead since the coordinator's load (coordView.move).
func (b *Broker) followCoordinators() {
	m := &coordMover{pending: map[coordKey]bool{}, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	b.coords = m
	go b.runCoordMover(m)
	v := &coordView{
		self:     b.cfg.NodeID,
		loadedAt: map[string]map[int32]int32{group.OffsetsTopic: b.groupsLoadedAt, txn.StateTopic: b.txnsLoadedAt},
		led:      map[coordKey]int32{},
		first:    true,
	}
	b.meta.Subscribe(func(snap *cluster.Snapshot) {
		for _, topic := range []string{group.OffsetsTopic, txn.StateTopic} {
			t, ok := snap.Topic(topic)
			if !ok {
				continue
			}
			for _, p := range t.Partitions {
				if load, ok := v.move(topic, p); ok {
					m.want(coordKey{topic, p.ID}, load)
				}
			}
		}
		v.first = false
	})
}

// coordView is what followCoordinators knows of the internal partitions
// between metadata views; only the metadata subscriber uses it.
type coordView struct {
	self int32
	// loadedAt are, by internal topic, the partitions this node led (by
	// leader epoch) when that topic's coordinator loaded them at start.
	loadedAt map[string]map[int32]int32
	// led are the partitions this node leads, by the epoch it loaded them at.
	led map[coordKey]int32
	// first is true until the first view has been applied.
	first bool
}

// move decides what partition p of an internal topic asks of its coordinator
// in the current view: load it (load true), unload it (load false), or
// nothing (ok false). On the first view the coordinators have just loaded
// every partition, so a partition led here is replayed again only when
// reloadOnFirstView says the start-up load may have missed part of it.
func (v *coordView) move(topic string, p cluster.Partition) (load, ok bool) {
	k := coordKey{topic, p.ID}
	epoch, had := v.led[k]
	switch {
	case p.Leader == v.self && v.first:
		v.led[k] = p.LeaderEpoch
		reload := reloadOnFirstView(v.loadedAt[topic], p)
		return reload, reload
	case p.Leader == v.self && (!had || epoch != p.LeaderEpoch):
		v.led[k] = p.LeaderEpoch
		return true, true
	case p.Leader != v.self && (had || v.first):
		delete(v.led, k)
		return false, true
	}
	return false, false
}

func (m *coordMover) want(k coordKey, load bool) {
	m.mu.Lock()
	m.pending[k] = load
	m.mu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (b *Broker) runCoordMover(m *coordMover) {
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		case <-m.kick:
		}
		m.mu.Lock()
		work := m.pending
		m.pending = map[coordKey]bool{}
		m.mu.Unlock()
		for k, load := range work {
			b.moveCoordinator(k, load)
		}
	}
}

func (b *Broker) moveCoordinator(k coordKey, load bool) {
	if load {
		b.awaitCommittedTail(k)
	}
	var err error
	switch {
	case k.topic == group.OffsetsTopic && load:
		err = b.groups.LoadPartition(k.p)
	case k.topic == group.OffsetsTopic:
		b.groups.UnloadPartition(k.p)
	case load:
		err = b.txns.LoadPartition(k.p)
	default:
		b.txns.UnloadPartition(k.p)
	}
	if err != nil {
		b.cfg.Logger.Warn("cannot load coordinator state", "topic", k.topic, "partition", k.p, "err", err)
	} else if load {
		b.cfg.Logger.Info("coordinator moved here", "topic", k.topic, "partition", k.p)
	}
}

// awaitCommittedTail waits (bounded) until a newly led partition's high
// watermark reaches the log end it had when it took over: everything in a new
// leader's log becomes committed, and the coordinator must load all of it.
func (b *Broker) awaitCommittedTail(k coordKey) {
	part, err := b.parts.Partition(k.topic, k.p)
	if err != nil {
		return
	}
	end := part.LogEndOffset()
	deadline := time.Now().Add(10 * time.Second)
	for part.HighWatermark() < end && part.IsLeader() && time.Now().Before(deadline) {
		select {
		case <-b.coords.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stopCoordMover stops the mover goroutine and waits for it.
func (b *Broker) stopCoordMover() {
	if b.coords != nil {
		close(b.coords.stop)
		<-b.coords.done
		b.coords = nil
	}
}
