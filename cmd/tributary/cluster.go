package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/tributary-io/tributary/broker/cluster"
)

// runCluster dispatches `tributary cluster <action>`.
func runCluster(ctx context.Context, c *cli, args []string) error {
	return dispatch(ctx, c, "cluster", args, []action{
		{"status", "show nodes, raft members, the controller, and under-replicated and offline partitions", clusterStatus},
		{"add-node", "add a node to the raft quorum (a voter while there are fewer than 3, else a non-voter)", clusterAddNode},
		{"remove-node", "take a node out of the raft quorum and fence it (reassign its replicas first)", clusterRemoveNode},
	})
}

// clusterNode is one broker in `cluster status`.
type clusterNode struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
	Rack string `json:"rack,omitempty"`
	// Controller marks the raft leader.
	Controller bool `json:"controller"`
	// Raft is "voter", "non-voter", or "" when raft membership was not asked
	// for (no --raft-addr) or the node is not a member.
	Raft string `json:"raft,omitempty"`
}

// clusterPartition is an under-replicated or offline partition.
type clusterPartition struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Leader    int32   `json:"leader"`
	Replicas  []int32 `json:"replicas"`
	ISR       []int32 `json:"isr"`
}

// clusterStatusOut is what `cluster status` prints.
type clusterStatusOut struct {
	ClusterID  string        `json:"cluster_id"`
	Controller int32         `json:"controller"`
	Nodes      []clusterNode `json:"nodes"`
	// RaftMembers lists raft servers with no broker registered (a node added
	// to the quorum that has not started yet); only with --raft-addr.
	RaftMembers     []cluster.Member   `json:"raft_members,omitempty"`
	UnderReplicated []clusterPartition `json:"under_replicated"`
	Offline         []clusterPartition `json:"offline"`
}

// clusterStatus reads brokers and partitions with a Metadata request (any
// broker answers from its copy of the raft metadata), and raft membership
// over the controller RPC when --raft-addr names a raft port.
func clusterStatus(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "cluster status", "cluster status [--raft-addr HOST:PORT]")
	cf := addClientFlags(fs, c)
	raftAddr := fs.String("raft-addr", "", "a node's raft `address`, to show raft membership too (optional)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	md, err := adm.Metadata(rctx)
	if err != nil {
		return fmt.Errorf("read cluster metadata: %w", err)
	}
	out := statusFromMetadata(md)
	if *raftAddr != "" {
		st, err := controllerCall(*raftAddr, cluster.ControllerRequest{Op: cluster.OpStatus}, cf.timeout)
		if err != nil {
			return err
		}
		addRaftMembers(&out, st.Status)
	}
	if cf.structured() {
		return cf.write(c.stdout, out)
	}
	return writeClusterStatus(c, out)
}

// statusFromMetadata builds the status from a Metadata response.
func statusFromMetadata(md kadm.Metadata) clusterStatusOut {
	out := clusterStatusOut{ClusterID: md.Cluster, Controller: md.Controller,
		UnderReplicated: []clusterPartition{}, Offline: []clusterPartition{}}
	for _, b := range md.Brokers {
		n := clusterNode{ID: b.NodeID, Host: b.Host, Port: b.Port, Controller: b.NodeID == md.Controller}
		if b.Rack != nil {
			n.Rack = *b.Rack
		}
		out.Nodes = append(out.Nodes, n)
	}
	slices.SortFunc(out.Nodes, func(a, b clusterNode) int { return int(a.ID) - int(b.ID) })
	for _, t := range md.Topics.Sorted() {
		for _, p := range t.Partitions.Sorted() {
			cp := clusterPartition{Topic: t.Topic, Partition: p.Partition, Leader: p.Leader,
				Replicas: orEmpty(p.Replicas), ISR: orEmpty(p.ISR)}
			switch {
			case p.Leader < 0:
				out.Offline = append(out.Offline, cp)
			case len(p.ISR) < len(p.Replicas):
				out.UnderReplicated = append(out.UnderReplicated, cp)
			}
		}
	}
	return out
}

// addRaftMembers marks each node's raft role and lists members without a broker.
func addRaftMembers(out *clusterStatusOut, st *cluster.Status) {
	if st == nil {
		return
	}
	out.Controller = st.Controller
	for _, m := range st.Members {
		role := "non-voter"
		if m.Voter {
			role = "voter"
		}
		i := slices.IndexFunc(out.Nodes, func(n clusterNode) bool { return n.ID == m.ID })
		if i < 0 {
			out.RaftMembers = append(out.RaftMembers, m)
			continue
		}
		out.Nodes[i].Raft = role
	}
	for i := range out.Nodes {
		out.Nodes[i].Controller = out.Nodes[i].ID == st.Controller
	}
}

func orEmpty(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

func writeClusterStatus(c *cli, out clusterStatusOut) error {
	fmt.Fprintf(c.stdout, "Cluster %s, controller %d\n\n", out.ClusterID, out.Controller)
	rows := make([][]string, 0, len(out.Nodes))
	for _, n := range out.Nodes {
		ctrl := ""
		if n.Controller {
			ctrl = "yes"
		}
		rows = append(rows, []string{itoa(n.ID), fmt.Sprintf("%s:%d", n.Host, n.Port), n.Rack, n.Raft, ctrl})
	}
	for _, m := range out.RaftMembers {
		role := "non-voter"
		if m.Voter {
			role = "voter"
		}
		rows = append(rows, []string{itoa(m.ID), "(not registered; raft " + m.RaftAddr + ")", "", role, ""})
	}
	if err := writeTable(c.stdout, []string{"NODE", "ADDRESS", "RACK", "RAFT", "CONTROLLER"}, rows); err != nil {
		return err
	}
	for _, section := range []struct {
		title string
		ps    []clusterPartition
	}{{"Under-replicated partitions", out.UnderReplicated}, {"Offline partitions", out.Offline}} {
		fmt.Fprintf(c.stdout, "\n%s: %d\n", section.title, len(section.ps))
		if len(section.ps) == 0 {
			continue
		}
		rows := make([][]string, 0, len(section.ps))
		for _, p := range section.ps {
			rows = append(rows, []string{p.Topic, itoa(p.Partition), itoa(p.Leader), joinIDs(p.Replicas), joinIDs(p.ISR)})
		}
		if err := writeTable(c.stdout, []string{"TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"}, rows); err != nil {
			return err
		}
	}
	return nil
}

func joinIDs(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = itoa(id)
	}
	return strings.Join(s, ",")
}

// raftFlags are the flags of the membership actions: they talk to the raft
// port, not the Kafka port, because raft membership has no Kafka API here.
type raftFlags struct {
	addr    string
	timeout time.Duration
	output  string
}

func addRaftFlags(fs *flag.FlagSet) *raftFlags {
	f := &raftFlags{}
	fs.StringVar(&f.addr, "raft-addr", "localhost:9093", "raft `address` of any cluster member (it forwards to the controller)")
	fs.DurationVar(&f.timeout, "request-timeout", 30*time.Second, "give up after this long")
	fs.StringVar(&f.output, "output", outputTable, "output `format`: "+outputFormats)
	return f
}

func (f *raftFlags) check() error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	if f.addr == "" {
		return usageErrorf("--raft-addr: no address given")
	}
	if f.timeout <= 0 {
		return usageErrorf("--request-timeout %s: must be positive", f.timeout)
	}
	return nil
}

// membershipResult is what add-node and remove-node print with --output json.
type membershipResult struct {
	Action   string `json:"action"`
	ID       int32  `json:"id"`
	RaftAddr string `json:"raft_addr,omitempty"`
}

func clusterAddNode(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "cluster add-node", "cluster add-node --id ID --node-raft-addr HOST:PORT [--raft-addr HOST:PORT]\n\n"+
		"Start the new node first with the cluster's --cluster-peers and its own --node-id;\n"+
		"it waits until this command makes it a member.")
	rf := addRaftFlags(fs)
	id := fs.Int("id", -1, "the new node's `id` (its --node-id)")
	nodeAddr := fs.String("node-raft-addr", "", "the new node's raft `address` (its --cluster-raft-addr, as the others reach it)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if *id < 0 || *id > 1<<31-1 {
		return usageErrorf("--id: want a node id (0 or more)")
	}
	if *nodeAddr == "" {
		return usageErrorf("--node-raft-addr: the new node's raft address is required")
	}
	spec := cluster.NodeSpec{ID: int32(*id), RaftAddr: *nodeAddr}
	if _, err := controllerCall(rf.addr, cluster.ControllerRequest{Op: cluster.OpAddNode, Node: &spec}, rf.timeout); err != nil {
		return err
	}
	return printMembership(c, rf.output, membershipResult{Action: "added", ID: spec.ID, RaftAddr: spec.RaftAddr})
}

func clusterRemoveNode(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "cluster remove-node", "cluster remove-node --id ID [--raft-addr HOST:PORT]\n\n"+
		"Reassign the node's partitions first: a node still named by a partition\n"+
		"leaves the quorum but stays registered (fenced).")
	rf := addRaftFlags(fs)
	id := fs.Int("id", -1, "the `id` of the node to remove")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if *id < 0 || *id > 1<<31-1 {
		return usageErrorf("--id: want a node id (0 or more)")
	}
	if _, err := controllerCall(rf.addr, cluster.ControllerRequest{Op: cluster.OpRemoveNode, BrokerID: int32(*id)}, rf.timeout); err != nil {
		return err
	}
	return printMembership(c, rf.output, membershipResult{Action: "removed", ID: int32(*id)})
}

func printMembership(c *cli, format string, r membershipResult) error {
	if format != outputTable {
		return writeStructured(c.stdout, format, r)
	}
	if r.RaftAddr != "" {
		fmt.Fprintf(c.stdout, "node %d (%s) %s\n", r.ID, r.RaftAddr, r.Action)
		return nil
	}
	fmt.Fprintf(c.stdout, "node %d %s\n", r.ID, r.Action)
	return nil
}

// controllerCall sends one controller RPC and turns a refusal into an error.
// A call that found no controller (an election under way) is retried for a
// few seconds within timeout.
func controllerCall(addr string, req cluster.ControllerRequest, timeout time.Duration) (cluster.ControllerResponse, error) {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := cluster.Call(addr, req, time.Until(deadline))
		if err == nil {
			err = resp.Err()
		}
		if err == nil {
			return resp, nil
		}
		if !errors.Is(err, cluster.ErrNotController) || time.Until(deadline) < 500*time.Millisecond {
			return resp, fmt.Errorf("%s via %s: %w", strings.ReplaceAll(req.Op, "_", " "), addr, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
