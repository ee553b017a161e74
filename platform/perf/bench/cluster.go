package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// cluster is several `tributary serve` child processes that form one raft
// cluster on loopback, as `make cluster` (deploy/local/cluster.sh) runs them.
type cluster struct {
	nodes []*brokerProc
}

// startCluster runs n nodes (ids 1..n, every one a raft voter) with data
// dirs node-N under work and logs cluster-node-N.log in out, and waits until
// every node answers /readyz (a controller is elected and every broker has
// registered). A node alone cannot become ready, so all are launched first.
func startCluster(ctx context.Context, bin, work, out string, n int) (*cluster, error) {
	addrs, err := freeAddrs(3 * n) // Kafka, HTTP and raft of each node
	if err != nil {
		return nil, err
	}
	peers := make([]string, n)
	for i := range n {
		peers[i] = fmt.Sprintf("%d@%s", i+1, addrs[3*i+2])
	}
	c := &cluster{}
	for i := range n {
		b, err := launchBroker(bin, filepath.Join(work, fmt.Sprintf("node-%d", i+1)), addrs[3*i], addrs[3*i+1],
			filepath.Join(out, fmt.Sprintf("cluster-node-%d.log", i+1)), false,
			"--node-id", fmt.Sprint(i+1), "--cluster-raft-addr", addrs[3*i+2], "--cluster-peers", strings.Join(peers, ","))
		if err != nil {
			c.kill()
			return nil, fmt.Errorf("node %d: %w", i+1, err)
		}
		c.nodes = append(c.nodes, b)
	}
	for i, b := range c.nodes {
		if err := b.waitReady(ctx, 2*time.Minute); err != nil {
			c.kill()
			return nil, fmt.Errorf("node %d: %w", i+1, err)
		}
	}
	return c, nil
}

// seeds returns every node's Kafka address.
func (c *cluster) seeds() []string {
	out := make([]string, len(c.nodes))
	for i, b := range c.nodes {
		out[i] = b.kafka
	}
	return out
}

// cpuSeconds adds up the CPU time of every node.
func (c *cluster) cpuSeconds() (float64, error) {
	var sum float64
	for _, b := range c.nodes {
		s, err := b.cpuSeconds()
		if err != nil {
			return 0, err
		}
		sum += s
	}
	return sum, nil
}

// pprofAddr is empty: the cluster rows are not profiled.
func (c *cluster) pprofAddr() string { return "" }

// stop sends every node SIGTERM at once (each moves its leaderships away
// in a controlled shutdown) and waits for all of them.
func (c *cluster) stop() error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, b := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.stop(); err != nil {
				errs[i] = fmt.Errorf("node %d: %w", i+1, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// kill ends every node at once.
func (c *cluster) kill() {
	for _, b := range c.nodes {
		b.kill()
	}
}
