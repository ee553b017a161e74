package streams

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// restore brings the task's stores up to their changelogs' end offsets. It
// reads with read_committed, so it waits for every transaction that wrote
// to the changelog to end (a previous owner's commit whose markers are not
// written yet, or a dead instance's transaction that the broker aborts on
// timeout) and never applies aborted writes. It keeps control records,
// because a changelog usually ends with a marker: the marker's offset is
// what shows that the store caught up. REQUIRES: a.mu held.
func (a *App) restore(ctx context.Context, t *taskCtx) error {
	if len(t.stores) == 0 {
		return nil
	}
	admCl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(a.cfg.Brokers...)}, a.cfg.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("restore client: %w", err)
	}
	defer admCl.Close()
	var topics []string
	for _, s := range t.stores {
		topics = append(topics, s.topic)
	}
	ends, err := kadm.NewClient(admCl).ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("changelog end offsets of task %s: %w", t.id, err)
	}
	type target struct {
		s          *store
		start, end int64
		status     *RestoreStatus
	}
	targets := map[string]*target{}
	parts := map[string]map[int32]kgo.Offset{}
	for _, s := range t.stores {
		end, ok := ends.Lookup(s.topic, t.id.partition)
		if !ok {
			return fmt.Errorf("changelog %s has no partition %d", s.topic, t.id.partition)
		}
		start, ok := s.b.checkpoint()
		if !ok || start > end.Offset {
			start = 0
			if err := s.b.destroy(); err != nil {
				return fmt.Errorf("reset store %s: %w", s.def.name, err)
			}
			b, err := a.openBackend(t.id, s.def)
			if err != nil {
				return fmt.Errorf("reopen store %s: %w", s.def.name, err)
			}
			s.b = b
		}
		st := &RestoreStatus{Store: s.def.name, Partition: t.id.partition, Total: end.Offset - start, Done: start >= end.Offset}
		a.restores[fmt.Sprintf("%s/%d", s.def.name, t.id.partition)] = st
		if st.Done {
			if err := s.b.commit(end.Offset); err != nil {
				return fmt.Errorf("checkpoint store %s: %w", s.def.name, err)
			}
			continue
		}
		targets[s.topic] = &target{s: s, start: start, end: end.Offset, status: st}
		parts[s.topic] = map[int32]kgo.Offset{t.id.partition: kgo.NewOffset().At(start)}
	}
	if len(targets) == 0 {
		return nil
	}
	a.cfg.Logger.Debug("restoring", "task", t.id.String(), "stores", len(targets))
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(a.cfg.Brokers...),
		kgo.ConsumePartitions(parts),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	}, a.cfg.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("restore consumer: %w", err)
	}
	defer cl.Close()
	left := len(targets)
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("restore task %s: %w", t.id, err)
		}
		var ferr error
		fs.EachError(func(topic string, p int32, err error) {
			ferr = fmt.Errorf("restore %s/%d: %w", topic, p, err)
		})
		if ferr != nil {
			return ferr
		}
		var applyErr error
		fs.EachRecord(func(r *kgo.Record) {
			tg := targets[r.Topic]
			if tg == nil || tg.status.Done || applyErr != nil {
				return
			}
			if !r.Attrs.IsControl() {
				if err := tg.s.b.put(string(r.Key), r.Value); err != nil {
					applyErr = fmt.Errorf("restore %s: %w", tg.s.def.name, err)
					return
				}
				a.stats.restored.Add(1)
			}
			tg.status.Restored = r.Offset + 1 - tg.start
			if r.Offset+1 >= tg.end {
				tg.status.Done = true
				left--
				if err := tg.s.b.commit(tg.end); err != nil {
					applyErr = fmt.Errorf("checkpoint store %s: %w", tg.s.def.name, err)
				}
			}
		})
		if applyErr != nil {
			return applyErr
		}
	}
	return nil
}

// openBackend opens a store's backend: on disk under StateDir when set.
func (a *App) openBackend(id taskID, def *storeDef) (backend, error) {
	if a.cfg.StateDir == "" {
		return newMemBackend(), nil
	}
	return openDiskBackend(diskStorePath(a.cfg.StateDir, a.cfg.ApplicationID, id, def.name))
}
