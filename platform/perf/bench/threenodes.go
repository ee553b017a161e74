package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/platform/perf"
)

// secThree is the table section of the three-node rows.
const secThree = "three nodes, RF=3, min.insync.replicas=2 (separate processes, loopback)"

// replicatedTopic creates a one-partition topic with replication factor 3
// and min.insync.replicas=2 on seeds and waits, at most a minute, until its
// leader is elected and all three replicas are in sync, so a run does not
// measure the cluster settling.
func replicatedTopic(ctx context.Context, seeds []string, topic string) error {
	if err := perf.EnsureTopicConfig(ctx, seeds, topic, 1, 3, map[string]string{"min.insync.replicas": "2"}); err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ClientID("tributary-bench"))
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(time.Minute)
	state := "no metadata yet"
	for time.Now().Before(deadline) {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			state = err.Error()
		} else if p, ok := md.Topics[topic].Partitions[0]; ok && p.Err == nil {
			if p.Leader >= 0 && len(p.ISR) == 3 {
				return nil
			}
			state = fmt.Sprintf("leader %d, in-sync replicas %v", p.Leader, p.ISR)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("topic %s not fully replicated after a minute: %s", topic, state)
}

// threeNodes starts a three-node cluster, measures produce of 100-byte
// records with acks=-1 (as the single-node row: unthrottled, 16 KiB batches,
// one partition) against fileWrite, then end-to-end latency at half the
// rate that run reached, and stops the nodes with SIGTERM.
func (h *harness) threeNodes(ctx context.Context, fileWrite perf.Limit) (rows []row, err error) {
	h.logf("starting three nodes")
	c, err := startCluster(ctx, h.bin, filepath.Join(h.work, "cluster"), h.opts.out, 3)
	if err != nil {
		return nil, fmt.Errorf("three nodes: %w", err)
	}
	defer func() {
		began := time.Now()
		serr := c.stop()
		h.logf("three nodes stopped in %s", time.Since(began).Round(10*time.Millisecond))
		if serr != nil && err == nil {
			err = fmt.Errorf("stop three nodes: %w", serr)
		}
	}()
	h.logf("three nodes at %v", c.seeds())
	const produceTopic, e2eTopic = "rf3-produce-100B-acksall", "rf3-end-to-end"
	for _, t := range []string{produceTopic, e2eTopic} {
		if err := replicatedTopic(ctx, c.seeds(), t); err != nil {
			return nil, err
		}
	}
	rep, err := h.produce(ctx, c, produceTopic, 100, -1, 0)
	if err != nil {
		return nil, err
	}
	r := reportRow(secThree, "produce 100B acks=-1", rep)
	r.Limit, r.LimitMBPerSec = "file write", fileWrite.MBPerSec
	rows = append(rows, r)

	rate := rep.RecordsPerSec / 2
	rep, err = h.endToEnd(ctx, c, e2eTopic, rate, -1, 0)
	if err != nil {
		return rows, err
	}
	r = reportRow(secThree, fmt.Sprintf("end-to-end 100B acks=-1 at %.0f rec/s (50%% of peak)", rate), rep)
	r.addNote("goal p99 < 10 ms")
	r.addNote(rateNote(rate, rep.RecordsPerSec))
	return append(rows, r), nil
}
