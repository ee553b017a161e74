package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ensureTopics learns the partition counts of the source and sink topics,
// checks that the topics of each sub-topology are co-partitioned and
// creates the repartition and (compacted) changelog topics that are missing.
func (a *App) ensureTopics(ctx context.Context) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(a.cfg.Brokers...)}, a.cfg.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	appID := a.cfg.ApplicationID
	var external []string
	for _, s := range a.top.subs {
		for _, src := range s.sources {
			if !src.internal {
				external = append(external, src.topics...)
			}
		}
	}
	for _, sk := range a.top.sinks {
		if !sk.internal {
			external = append(external, sk.topic)
		}
	}
	details, err := adm.ListTopics(ctx, external...)
	if err != nil {
		return fmt.Errorf("describe topics %v: %w", external, err)
	}
	a.partitions = map[string]int32{}
	var maxParts int32
	for _, t := range external {
		d, ok := details[t]
		if !ok || d.Err != nil {
			return fmt.Errorf("streams: topic %s does not exist (create input and output topics first)", t)
		}
		n := int32(len(d.Partitions))
		a.partitions[t] = n
		maxParts = max(maxParts, n)
	}
	repParts := a.cfg.RepartitionPartitions
	if repParts == 0 {
		repParts = maxParts
	}
	create := map[string]struct {
		parts   int32
		compact bool
	}{}
	for _, r := range a.top.repartitions {
		name := topicName(appID, r, true)
		a.partitions[name] = repParts
		create[name] = struct {
			parts   int32
			compact bool
		}{repParts, false}
	}
	for _, s := range a.top.subs {
		var n int32
		for _, t := range s.topics(appID) {
			switch {
			case n == 0:
				n = a.partitions[t]
			case a.partitions[t] != n:
				return fmt.Errorf("streams: topics %v of sub-topology %d must have the same partition count (co-partitioning)", s.topics(appID), s.id)
			}
		}
		for _, st := range s.stores {
			name := changelogTopic(appID, st.name)
			a.partitions[name] = n
			create[name] = struct {
				parts   int32
				compact bool
			}{n, true}
		}
	}
	names := make([]string, 0, len(create))
	for n := range create {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		c := create[name]
		var cfg map[string]*string
		if c.compact {
			compact := "compact"
			cfg = map[string]*string{"cleanup.policy": &compact}
		}
		resp, err := adm.CreateTopic(ctx, c.parts, a.cfg.ReplicationFactor, cfg, name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create internal topic %s: %w", name, err)
		}
	}
	return nil
}

// newClient makes the group client: a GroupTransactSession with
// exactly-once, a plain client that blocks rebalances between commits
// without. The range balancer gives partition p of every topic to one
// member, which keeps a task's co-partitioned inputs together.
func (a *App) newClient() (*txnClient, error) {
	var topics []string
	for t := range a.topicSub {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	opts := []kgo.Opt{
		kgo.SeedBrokers(a.cfg.Brokers...),
		kgo.ConsumerGroup(a.cfg.ApplicationID),
		kgo.ConsumeTopics(topics...),
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.SessionTimeout(a.cfg.SessionTimeout),
		kgo.HeartbeatInterval(a.cfg.SessionTimeout / 10),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { a.assignment(m, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { a.assignment(m, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { a.assignment(m, false) }),
	}
	if a.cfg.AtLeastOnce {
		opts = append(opts, kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll())
		cl, err := kgo.NewClient(append(opts, a.cfg.ClientOpts...)...)
		if err != nil {
			return nil, fmt.Errorf("group client: %w", err)
		}
		return &txnClient{cl: cl}, nil
	}
	opts = append(opts,
		kgo.TransactionalID(a.cfg.ApplicationID+"-"+a.cfg.InstanceID),
		kgo.TransactionTimeout(a.cfg.TransactionTimeout),
		kgo.RequireStableFetchOffsets(),
	)
	sess, err := kgo.NewGroupTransactSession(append(opts, a.cfg.ClientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("transactional group client: %w", err)
	}
	return &txnClient{cl: sess.Client(), sess: sess}, nil
}

// assignment records assigned (add) or revoked partitions; it runs on
// kgo's group goroutine, so it only updates the owned set.
func (a *App) assignment(m map[string][]int32, add bool) {
	a.ownMu.Lock()
	defer a.ownMu.Unlock()
	for topic, ps := range m {
		sub, ok := a.topicSub[topic]
		if !ok {
			continue
		}
		for _, p := range ps {
			if add {
				a.owned[taskID{sub.id, p}] = true
			} else {
				delete(a.owned, taskID{sub.id, p})
			}
		}
	}
}

// reconcile drops tasks the group took away and opens (restores) the ones
// it gave. It runs between transactions, or inside one when the loop
// already began it, which is safe: restoring only reads committed data.
func (a *App) reconcile(ctx context.Context, tc *txnClient) error {
	a.ownMu.Lock()
	want := make(map[taskID]bool, len(a.owned))
	for id := range a.owned {
		want[id] = true
	}
	a.ownMu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, t := range a.tasks {
		if !want[id] {
			// A revoked task's state matches the last commit only when no
			// transaction is open; otherwise the abort drops it anyway.
			t.close(!tc.in)
			delete(a.tasks, id)
			a.cfg.Logger.Debug("task revoked", "task", id.String())
		}
	}
	for id := range want {
		if _, ok := a.tasks[id]; !ok {
			if _, err := a.openTask(ctx, tc, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// openTask builds task id and restores its stores. REQUIRES: a.mu held.
func (a *App) openTask(ctx context.Context, _ *txnClient, id taskID) (*taskCtx, error) {
	if id.sub < 0 || id.sub >= len(a.top.subs) {
		return nil, fmt.Errorf("streams: no sub-topology %d", id.sub)
	}
	sub := a.top.subs[id.sub]
	t, err := newTask(a.top, sub, id.partition, a.cfg.ApplicationID, a.openBackend, appSender{a: a, cl: a.cl}, a.cfg.Clock)
	if err != nil {
		return nil, err
	}
	if err := a.restore(ctx, t); err != nil {
		t.close(false)
		return nil, err
	}
	for _, s := range t.stores {
		if err := s.b.dirty(); err != nil {
			t.close(false)
			return nil, fmt.Errorf("mark store %s of task %s in use: %w", s.def.name, id, err)
		}
	}
	a.tasks[id] = t
	a.cfg.Logger.Debug("task opened", "task", id.String())
	return t, nil
}

// dropTasks closes every task; keep says whether on-disk state stays.
func (a *App) dropTasks(keep bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropTasksLocked(keep)
}

func (a *App) dropTasksLocked(keep bool) {
	for id, t := range a.tasks {
		t.close(keep)
		delete(a.tasks, id)
	}
}
