package broker

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/replication"
)

// Scrape-time series. Their values are read from the broker's state when
// /metrics is scraped; nothing on the request path updates them.
var (
	partitionLabels = []string{"topic", "partition"}

	descLogSize = prometheus.NewDesc("tributary_log_size_bytes",
		"Bytes of all segments of a partition replica hosted here.", partitionLabels, nil)
	descLogSegments = prometheus.NewDesc("tributary_log_segments",
		"Segments of a partition replica hosted here.", partitionLabels, nil)
	descHighWatermark = prometheus.NewDesc("tributary_partition_high_watermark",
		"High watermark of a partition replica hosted here: the offset after the last record consumers can read.", partitionLabels, nil)
	descLogStartOffset = prometheus.NewDesc("tributary_partition_log_start_offset",
		"First offset still held by a partition replica hosted here.", partitionLabels, nil)

	descUnderReplicated = prometheus.NewDesc("tributary_partitions_under_replicated",
		"Partitions led by this node whose in-sync replicas are fewer than their replicas.", nil, nil)
	descUnderMinISR = prometheus.NewDesc("tributary_partitions_under_min_isr",
		"Partitions led by this node whose in-sync replicas are fewer than min.insync.replicas: acks=all produces fail.", nil, nil)
	descOffline = prometheus.NewDesc("tributary_partitions_offline",
		"Partitions without a live (registered, unfenced) leader. Reported by the controller only (0 elsewhere), so a sum over nodes counts each once.", nil, nil)
	descLeaders = prometheus.NewDesc("tributary_partitions_leader",
		"Partitions this node leads.", nil, nil)
	descControllerActive = prometheus.NewDesc("tributary_controller_active",
		"1 if this node is the metadata controller (the raft leader), else 0.", nil, nil)
	descMetadataVersion = prometheus.NewDesc("tributary_metadata_version",
		"Metadata changes applied on this node; it moves with every topic, partition, config or broker change.", nil, nil)
	descBrokers = prometheus.NewDesc("tributary_brokers",
		"Brokers registered in the cluster metadata.", nil, nil)
	descTopics = prometheus.NewDesc("tributary_topics",
		"Topics in the cluster metadata, internal ones included.", nil, nil)

	descRaftState = prometheus.NewDesc("tributary_raft_state",
		"1 for this node's current raft role (Leader, Follower, Candidate, Shutdown), 0 for the others. Cluster members only.", []string{"state"}, nil)
	descRaftTerm = prometheus.NewDesc("tributary_raft_term",
		"Current raft term of this node; it rises with every election. Cluster members only.", nil, nil)
	descRaftIndex = prometheus.NewDesc("tributary_raft_index",
		"Raft log positions on this node: last (in the local log), commit (known committed), applied (applied to the metadata). Cluster members only.", []string{"position"}, nil)

	groupPartitionLabels = []string{"group", "topic", "partition"}

	descGroupLag = prometheus.NewDesc("tributary_consumer_group_lag",
		"Records between a group's committed offset and the partition's high watermark.", groupPartitionLabels, nil)
	descGroupCommitted = prometheus.NewDesc("tributary_consumer_group_committed_offset",
		"A group's committed offset on a partition.", groupPartitionLabels, nil)
	descGroups = prometheus.NewDesc("tributary_consumer_groups",
		"Consumer groups this node coordinates, by state.", []string{"state"}, nil)
)

// partitionCollector reports the size and offsets of each hosted replica.
type partitionCollector struct {
	parts *replication.Manager
}

func (c *partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLogSize, descLogSegments, descHighWatermark, descLogStartOffset} {
		ch <- d
	}
}

func (c *partitionCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.parts.Partitions() {
		tp := p.TopicPartition()
		labels := []string{tp.Topic, strconv.Itoa(int(tp.Partition))}
		l := p.Log()
		ch <- prometheus.MustNewConstMetric(descLogSize, prometheus.GaugeValue, float64(l.Size()), labels...)
		ch <- prometheus.MustNewConstMetric(descLogSegments, prometheus.GaugeValue, float64(l.NumSegments()), labels...)
		ch <- prometheus.MustNewConstMetric(descHighWatermark, prometheus.GaugeValue, float64(p.HighWatermark()), labels...)
		ch <- prometheus.MustNewConstMetric(descLogStartOffset, prometheus.GaugeValue, float64(p.StartOffset()), labels...)
	}
}

// metadataView is what the cluster collector reads: the local copy of the
// metadata (cluster.Local, or cluster.Raft on a cluster).
type metadataView interface {
	Snapshot() *cluster.Snapshot
}

// controllerView is the optional capability of a metadata driver to say
// whether this node is the controller right now (cluster.Raft: the raft
// leader). Without it the snapshot's ControllerID decides.
type controllerView interface {
	IsController() bool
}

// raftView is the optional capability of a metadata driver to report its
// raft role and log positions (cluster.Raft); a single node has no raft.
type raftView interface {
	RaftStatus() cluster.RaftStatus
}

// clusterCollector reports partition health and controller state from the
// local copy of the metadata.
type clusterCollector struct {
	meta     metadataView
	parts    *replication.Manager
	self     int32
	defaults log.Config // the broker's topic config defaults
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUnderReplicated, descUnderMinISR, descOffline, descLeaders,
		descControllerActive, descMetadataVersion, descBrokers, descTopics, descRaftState, descRaftTerm, descRaftIndex} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.meta.Snapshot()
	controller := snap.ControllerID == c.self
	if cv, ok := c.meta.(controllerView); ok {
		controller = cv.IsController() // the raft leader knows before its snapshot says so
	}
	h := partitionHealthOf(snap, c.self, controller, c.defaults, func(topic string, p int32) bool {
		_, err := c.parts.Partition(topic, p)
		return err == nil
	})
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(descUnderReplicated, float64(h.underReplicated))
	gauge(descUnderMinISR, float64(h.underMinISR))
	gauge(descOffline, float64(h.offline))
	gauge(descLeaders, float64(h.leaders))
	gauge(descControllerActive, boolGauge(h.controller))
	gauge(descMetadataVersion, float64(snap.Version))
	gauge(descBrokers, float64(len(snap.Brokers)))
	gauge(descTopics, float64(len(snap.Topics)))
	if rv, ok := c.meta.(raftView); ok {
		st := rv.RaftStatus()
		for _, s := range cluster.RaftStates {
			ch <- prometheus.MustNewConstMetric(descRaftState, prometheus.GaugeValue, boolGauge(s == st.State), s)
		}
		gauge(descRaftTerm, float64(st.Term))
		for _, p := range []struct {
			name string
			v    uint64
		}{{"last", st.LastIndex}, {"commit", st.CommitIndex}, {"applied", st.AppliedIndex}} {
			ch <- prometheus.MustNewConstMetric(descRaftIndex, prometheus.GaugeValue, float64(p.v), p.name)
		}
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// partitionHealth counts partitions needing attention, as this node sees them.
type partitionHealth struct {
	leaders         int // partitions led here
	underReplicated int // led here, ISR smaller than the replica set
	underMinISR     int // led here, ISR smaller than min.insync.replicas
	offline         int // no live leader; counted only on the controller
	controller      bool
}

// partitionHealthOf computes partitionHealth from a metadata snapshot, as
// node self sees it; controller says whether self is the controller. hosted
// reports whether this node has a working replica of a partition; one led
// here whose log could not be opened is offline, like one with no leader.
func partitionHealthOf(snap *cluster.Snapshot, self int32, controller bool, defaults log.Config,
	hosted func(topic string, p int32) bool) partitionHealth {
	h := partitionHealth{controller: controller}
	live := make(map[int32]bool, len(snap.Brokers))
	for _, b := range snap.Brokers {
		live[b.ID] = !b.Fenced // a fenced broker missed its heartbeats
	}
	for name, t := range snap.Topics {
		minISR := topicMinISR(t, defaults)
		for _, p := range t.Partitions {
			ledHere := p.Leader == self
			if p.Leader < 0 || !live[p.Leader] || (ledHere && !hosted(name, p.ID)) {
				if h.controller {
					h.offline++
				}
				continue
			}
			if !ledHere {
				continue
			}
			h.leaders++
			if len(p.ISR) < len(p.Replicas) {
				h.underReplicated++
			}
			if len(p.ISR) < minISR {
				h.underMinISR++
			}
		}
	}
	return h
}

// topicMinISR is a topic's min.insync.replicas: its override, else the
// broker's default.
func topicMinISR(t *cluster.Topic, defaults log.Config) int {
	k, ok := cluster.LookupTopicConfigKey("min.insync.replicas")
	if !ok {
		return 1
	}
	v, _ := k.Value(defaults, t.Configs)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// groupCollector reports each group's committed offsets and lag. Lag is
// computed here, from the coordinator's offsets and the partitions' high
// watermarks, so it needs no consumer-side exporter.
type groupCollector struct {
	groups *group.Coordinator
	parts  *replication.Manager
}

func (c *groupCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descGroupLag
	ch <- descGroupCommitted
	ch <- descGroups
}

// groupStates are the states always reported by tributary_consumer_groups, so
// a state's series exists at 0 instead of appearing and vanishing.
var groupStates = []group.State{group.Empty, group.PreparingRebalance, group.CompletingRebalance, group.Stable, group.Dead}

func (c *groupCollector) Collect(ch chan<- prometheus.Metric) {
	// A partial list while loading is still worth reporting.
	listing, _ := c.groups.ListGroups()
	byState := make(map[group.State]int, len(groupStates))
	for _, g := range listing {
		byState[g.State]++
		offsets, err := c.groups.FetchOffsets(g.Group, nil)
		if err != nil {
			continue // moved or unloaded since the listing
		}
		for _, o := range offsets {
			if o.Offset < 0 {
				continue
			}
			labels := []string{g.Group, o.Topic, strconv.Itoa(int(o.Partition))}
			ch <- prometheus.MustNewConstMetric(descGroupCommitted, prometheus.GaugeValue, float64(o.Offset), labels...)
			p, err := c.parts.Partition(o.Topic, o.Partition)
			if err != nil {
				continue // the topic was deleted or is not hosted here
			}
			ch <- prometheus.MustNewConstMetric(descGroupLag, prometheus.GaugeValue, float64(lag(p.HighWatermark(), o.Offset)), labels...)
		}
	}
	for _, s := range groupStates {
		ch <- prometheus.MustNewConstMetric(descGroups, prometheus.GaugeValue, float64(byState[s]), s.String())
	}
}

// lag is how far a committed offset trails the high watermark. A committed
// offset past it (after a truncation or a manual reset) is no lag.
func lag(highWatermark, committed int64) int64 {
	return max(highWatermark-committed, 0)
}
