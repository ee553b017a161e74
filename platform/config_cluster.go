package platform

import (
	"fmt"
	"time"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/cluster"
)

// ClusterSection is the `cluster:` section. A node is a cluster member (raft
// metadata, replicated partitions) when raft_addr or peers is set; otherwise it
// runs alone with file-backed metadata, as `make run` does.
type ClusterSection struct {
	// RaftAddr is the raft listen address host:port (default :9093 in a cluster).
	RaftAddr string `yaml:"raft_addr"`
	// RaftAdvertisedAddr is how other nodes reach this raft port (default RaftAddr).
	RaftAdvertisedAddr string `yaml:"raft_advertised_addr"`
	// Peers are the initial voters, id@host:port, the same list on every node.
	Peers []string `yaml:"peers"`
	// SessionTimeout: a broker that does not heartbeat for this long is fenced
	// and its partitions get new leaders (default 3s).
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// HeartbeatInterval is how often a broker heartbeats the controller (default 500ms).
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// ReplicaLagMax is replica.lag.time.max.ms (default 30s).
	ReplicaLagMax time.Duration `yaml:"replica_lag_max"`
}

// enabled reports whether the node is a cluster member.
func (s ClusterSection) enabled() bool { return s.RaftAddr != "" || len(s.Peers) > 0 }

func (s ClusterSection) problems() []error {
	var errs []error
	for _, p := range s.Peers {
		if _, _, err := cluster.ParsePeer(p); err != nil {
			errs = append(errs, fmt.Errorf("cluster.peers: %w", err))
		}
	}
	for name, d := range map[string]time.Duration{"session_timeout": s.SessionTimeout, "heartbeat_interval": s.HeartbeatInterval, "replica_lag_max": s.ReplicaLagMax} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("cluster.%s=%v: must not be negative", name, d))
		}
	}
	return errs
}

// brokerConfig is the broker's cluster config, or nil for a single node.
func (s ClusterSection) brokerConfig() *broker.ClusterConfig {
	if !s.enabled() {
		return nil
	}
	return &broker.ClusterConfig{
		RaftAddr: s.RaftAddr, RaftAdvertisedAddr: s.RaftAdvertisedAddr, Peers: append([]string(nil), s.Peers...),
		SessionTimeout: s.SessionTimeout, HeartbeatInterval: s.HeartbeatInterval, ReplicaLagMax: s.ReplicaLagMax,
	}
}

// clusterSettings are the cluster.* flags and environment variables.
func clusterSettings() []setting {
	return []setting{
		{key: "cluster.raft_addr", usage: "raft listen address host:port; setting it (or peers) makes this node a cluster member",
			set: func(c *Config, v string) error { c.Cluster.RaftAddr = v; return nil }},
		{key: "cluster.raft_advertised_addr", usage: "raft address other nodes use (default: raft_addr)",
			set: func(c *Config, v string) error { c.Cluster.RaftAdvertisedAddr = v; return nil }},
		{key: "cluster.peers", usage: "comma-separated initial raft voters id@host:port, the same on every node",
			set: func(c *Config, v string) error { c.Cluster.Peers = splitList(v); return nil }},
		{key: "cluster.session_timeout", usage: "fence a broker silent this long and move its leaderships (default 3s)",
			set: durationSetting("cluster.session_timeout", func(c *Config, d time.Duration) { c.Cluster.SessionTimeout = d })},
		{key: "cluster.heartbeat_interval", usage: "broker heartbeat interval (default 500ms)",
			set: durationSetting("cluster.heartbeat_interval", func(c *Config, d time.Duration) { c.Cluster.HeartbeatInterval = d })},
		{key: "cluster.replica_lag_max", usage: "replica.lag.time.max.ms: a follower behind this long leaves the ISR (default 30s)",
			set: durationSetting("cluster.replica_lag_max", func(c *Config, d time.Duration) { c.Cluster.ReplicaLagMax = d })},
	}
}
