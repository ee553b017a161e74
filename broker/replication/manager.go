package replication

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/log"
)

// Config configures a Manager.
type Config struct {
	// NodeID is this node: partitions whose replicas include it are hosted here.
	NodeID int32
	// LogDefaults are the broker-wide topic config defaults; a topic's overrides
	// are applied on top with log.ApplyOverrides. Default log.DefaultConfig().
	LogDefaults log.Config
	// Logger receives reconciliation problems. Default slog.Default().
	Logger *slog.Logger
	// ProducerState opens each partition's producer state (broker/txn) when its
	// log opens. Default nil: no idempotence or transaction checks.
	ProducerState ProducerStateOpener
	// ISR receives the leader's ISR changes (the raft controller). Default nil:
	// a single node, whose ISR never changes.
	ISR ISRChanger
	// ReplicaLagMax is replica.lag.time.max.ms: a follower that has not caught
	// up for this long leaves the ISR. Default 30s.
	ReplicaLagMax time.Duration
	// Now is the clock of follower progress. Default time.Now.
	Now func() time.Time
	// Dialer connects replica fetchers and PeerConns to other brokers: their
	// inter-broker listener, with TLS and SASL as it requires (dial.go).
	// Default nil: plaintext to the address each broker registered.
	Dialer *PeerDialer
}

// ISRChanger proposes a partition's new ISR to the controller; the change is
// refused unless this node still leads at epoch.
type ISRChanger interface {
	AlterISR(topic string, partition, leader, epoch int32, isr []int32) error
}

// SnapshotSource is what the Manager subscribes to; *cluster.Local has it.
type SnapshotSource interface {
	Subscribe(fn func(*cluster.Snapshot))
}

// Manager holds the Partitions this node hosts and keeps them in line with the
// metadata snapshots it is given.
type Manager struct {
	logs   *log.Manager
	cfg    Config
	logger *slog.Logger

	// parts is the current immutable table, swapped by reconcile; readers never lock.
	parts atomic.Pointer[partTable]

	// mu serialises reconciliations and Close.
	mu     sync.Mutex
	closed bool
	// fetchers are the running replica fetchers by partition (guarded by mu).
	fetchers map[log.TopicPartition]*fetcher
	// brokers is the latest broker table, for fetchers to find leaders.
	brokers atomic.Pointer[[]cluster.Broker]

	// stop ends the fetchers and the ISR loop; wg waits for them.
	stop     chan struct{}
	wg       sync.WaitGroup
	isrKick  chan struct{}
	isrStart sync.Once
}

// partTable is an immutable view of the hosted partitions.
type partTable struct {
	byTP map[log.TopicPartition]*Partition
	// failed holds partitions the metadata assigns here whose log could not be opened.
	failed map[log.TopicPartition]error
}

// NewManager returns a Manager over the logs of logs. It hosts nothing until it
// receives a snapshot.
func NewManager(logs *log.Manager, cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LogDefaults == (log.Config{}) {
		cfg.LogDefaults = log.DefaultConfig()
	}
	if cfg.ReplicaLagMax == 0 {
		cfg.ReplicaLagMax = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{logs: logs, cfg: cfg, logger: cfg.Logger, fetchers: map[log.TopicPartition]*fetcher{},
		stop: make(chan struct{}), isrKick: make(chan struct{}, 1)}
	m.parts.Store(&partTable{byTP: map[log.TopicPartition]*Partition{}, failed: map[log.TopicPartition]error{}})
	return m
}

// Subscribe reconciles with src's current snapshot at once (so the partitions are
// open when Subscribe returns) and after every later change.
func (m *Manager) Subscribe(src SnapshotSource) {
	src.Subscribe(m.Reconcile)
}

// Partition returns the local replica of topic/partition. The error wraps
// cluster.ErrUnknownTopic when this node does not host it, or the error that kept
// its log from opening.
func (m *Manager) Partition(topic string, partition int32) (*Partition, error) {
	tp := log.TopicPartition{Topic: topic, Partition: partition}
	t := m.parts.Load()
	if p, ok := t.byTP[tp]; ok {
		return p, nil
	}
	if err, ok := t.failed[tp]; ok {
		return nil, fmt.Errorf("partition %s/%d is offline: %w", topic, partition, err)
	}
	return nil, fmt.Errorf("partition %s/%d: %w", topic, partition, cluster.ErrUnknownTopic)
}

// Partitions returns every hosted partition, in no particular order.
func (m *Manager) Partitions() []*Partition {
	t := m.parts.Load()
	out := make([]*Partition, 0, len(t.byTP))
	for _, p := range t.byTP {
		out = append(out, p)
	}
	return out
}

// Reconcile brings the hosted partitions in line with snap: it opens logs of new
// partitions, applies changed topic configs and leader epochs, and removes logs
// of partitions that are gone (deleted topics, recreated topics with a new id,
// and folders on disk the metadata does not know). Reconciliations are serialised.
func (m *Manager) Reconcile(snap *cluster.Snapshot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || snap == nil {
		return
	}
	brokers := snap.Brokers
	m.brokers.Store(&brokers)
	if m.cfg.ISR != nil {
		m.isrStart.Do(func() {
			m.wg.Add(1)
			go m.isrLoop()
		})
	}
	old := m.parts.Load()
	next := &partTable{
		byTP:   make(map[log.TopicPartition]*Partition, len(old.byTP)),
		failed: make(map[log.TopicPartition]error),
	}
	for _, topic := range snap.Topics {
		cfg, err := topic.LogConfig(m.cfg.LogDefaults) // skips non-log configs such as min.insync.replicas
		if err != nil {
			// The metadata layer validated these when they were set; a failure here
			// means the broker defaults changed under them. Keep serving with the
			// defaults rather than taking the topic offline.
			m.logger.Warn("topic configs do not apply; using broker defaults", "topic", topic.Name, "err", err)
			cfg = m.cfg.LogDefaults
		}
		for _, pm := range topic.Partitions {
			if !slices.Contains(pm.Replicas, m.cfg.NodeID) {
				continue
			}
			tp := log.TopicPartition{Topic: topic.Name, Partition: pm.ID}
			p, err := m.reconcilePartition(old.byTP[tp], tp, topic.ID, pm, cfg, minISROf(topic))
			if err != nil {
				m.logger.Error("cannot open partition log", "partition", tp.String(), "err", err)
				next.failed[tp] = err
				continue
			}
			next.byTP[tp] = p
		}
	}
	m.parts.Store(next)
	m.reconcileFetchers(snap, next)

	// Removals run after the swap so new lookups no longer find removed partitions.
	for tp, p := range old.byTP {
		if next.byTP[tp] == p {
			continue
		}
		p.markRemoved()
		if err := p.closeProducers(false); err != nil {
			m.logger.Warn("cannot close producer state", "partition", tp.String(), "err", err)
		}
		if _, reopened := next.byTP[tp]; reopened {
			continue // replaced by a new topic id; reconcilePartition removed the old log
		}
		if err := m.logs.Remove(tp); err != nil {
			m.logger.Error("cannot remove partition log", "partition", tp.String(), "err", err)
		}
	}
	for _, tp := range m.logs.Partitions() {
		if _, ok := next.byTP[tp]; ok {
			continue
		}
		if _, ok := next.failed[tp]; ok {
			continue // keep the data of a partition we could not open
		}
		if _, ok := old.byTP[tp]; ok {
			continue // removed above
		}
		// Never delete on this evidence: the metadata may be what was lost.
		aside, err := m.logs.SetAside(tp)
		if err != nil {
			m.logger.Error("cannot set aside partition log unknown to the metadata", "partition", tp.String(), "err", err)
			continue
		}
		m.logger.Warn("partition log unknown to the metadata set aside, not deleted", "partition", tp.String(), "moved_to", aside)
	}
}

// reconcilePartition returns the Partition for tp in its new state: the existing
// one updated, or a newly opened one.
func (m *Manager) reconcilePartition(cur *Partition, tp log.TopicPartition, id cluster.UUID, pm cluster.Partition, cfg log.Config, minISR int) (*Partition, error) {
	if cur != nil && cur.topicID == id {
		if cur.log.Config() != cfg {
			if err := cur.log.SetConfig(cfg); err != nil {
				m.logger.Error("cannot apply topic config", "partition", tp.String(), "err", err)
			}
		}
		cur.setMeta(pm, minISR, m.cfg.Now())
		return cur, nil
	}
	if cur != nil {
		// Same name, new topic id: the topic was deleted and recreated between
		// two snapshots. The old data must not show through.
		cur.markRemoved()
		if err := cur.closeProducers(false); err != nil {
			m.logger.Warn("cannot close producer state", "partition", tp.String(), "err", err)
		}
		if err := m.logs.Remove(tp); err != nil {
			return nil, fmt.Errorf("remove log of replaced topic %s: %w", tp, err)
		}
	}
	l, err := m.logs.GetOrCreate(tp, cfg)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", tp, err)
	}
	if l.Config() != cfg {
		// GetOrCreate returns an already open log as is.
		if err := l.SetConfig(cfg); err != nil {
			return nil, fmt.Errorf("configure log %s: %w", tp, err)
		}
	}
	producers, err := m.openProducers(tp, l)
	if err != nil {
		return nil, err
	}
	epochs, err := loadEpochs(l)
	if err != nil {
		return nil, err
	}
	p := newPartition(tp, id, l, pm, producers, m.cfg.NodeID, epochs, m.cfg.Now())
	p.setMeta(pm, minISR, m.cfg.Now())
	return p, nil
}

// Close stops reconciling and marks every partition removed, which wakes their
// waiters. It does not close the logs: the log.Manager owns them. Calling it again
// does nothing.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	close(m.stop)
	for tp, f := range m.fetchers {
		close(f.stop)
		delete(m.fetchers, tp)
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.mu.Lock()
	parts := m.parts.Load().byTP
	for _, p := range parts {
		p.markRemoved()
	}
	// The logs are still open (the log.Manager closes them after this), so the
	// producer states can take their snapshots for a quick restart.
	return closeAll(parts)
}

// minISROf reads a topic's min.insync.replicas (default 1).
func minISROf(t *cluster.Topic) int {
	if v, err := strconv.Atoi(t.Configs["min.insync.replicas"]); err == nil && v > 0 {
		return v
	}
	return 1
}

// reconcileFetchers runs one fetcher per partition this node follows, for the
// current leader and epoch, and stops the others. The caller holds mu.
func (m *Manager) reconcileFetchers(snap *cluster.Snapshot, t *partTable) {
	want := map[log.TopicPartition]*Partition{}
	for tp, p := range t.byTP {
		leader := p.Leader()
		if leader != m.cfg.NodeID && leader != cluster.NoLeader {
			want[tp] = p
		}
	}
	for tp, f := range m.fetchers {
		p, ok := want[tp]
		if ok && f.p == p && f.leader == p.Leader() && f.epoch == p.LeaderEpoch() {
			continue
		}
		close(f.stop)
		delete(m.fetchers, tp)
	}
	for tp, p := range want {
		if _, ok := m.fetchers[tp]; ok {
			continue
		}
		f := &fetcher{p: p, leader: p.Leader(), epoch: p.LeaderEpoch(), stop: make(chan struct{})}
		m.fetchers[tp] = f
		m.wg.Add(1)
		go m.runFetcher(f)
	}
}

// isrLoop proposes ISR changes for the partitions this node leads: shrinks
// when followers fall behind replica.lag.time.max.ms, expansions when they
// catch up (kicked at once by the fetch path, see KickISR).
func (m *Manager) isrLoop() {
	defer m.wg.Done()
	t := time.NewTicker(max(m.cfg.ReplicaLagMax/4, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		case <-m.isrKick:
		}
		now := m.cfg.Now()
		for _, p := range m.Partitions() {
			isr, epoch, ok := p.isrProposal(now, m.cfg.ReplicaLagMax)
			if !ok {
				continue
			}
			if err := m.cfg.ISR.AlterISR(p.tp.Topic, p.tp.Partition, m.cfg.NodeID, epoch, isr); err != nil {
				m.logger.Debug("ISR change refused", "partition", p.tp.String(), "isr", fmt.Sprint(isr), "err", err)
			}
		}
	}
}

// KickISR asks the ISR loop to look now (a follower caught up).
func (m *Manager) KickISR() {
	select {
	case m.isrKick <- struct{}{}:
	default:
	}
}
