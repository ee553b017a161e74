package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// ControllerRequest is one controller RPC on the raft port: a proposal a node
// forwards to the raft leader, a broker heartbeat, or a cluster operation from
// the CLI. Op names it; only the fields of that op are set.
type ControllerRequest struct {
	Op           string            `json:"op"`
	Broker       *Broker           `json:"broker,omitempty"`
	BrokerID     int32             `json:"broker_id,omitempty"`
	Spec         *TopicSpec        `json:"spec,omitempty"`
	Name         string            `json:"name,omitempty"`
	Total        int32             `json:"total,omitempty"`
	Assignment   [][]int32         `json:"assignment,omitempty"`
	Configs      map[string]string `json:"configs,omitempty"`
	ValidateOnly bool              `json:"validate_only,omitempty"`
	Count        int64             `json:"count,omitempty"`
	ISR          *ISRChange        `json:"isr,omitempty"`
	Reassign     []Reassignment    `json:"reassign,omitempty"`
	Elect        []PartitionRef    `json:"elect,omitempty"`
	Node         *NodeSpec         `json:"node,omitempty"`
	// Command is a change decided in full by the caller (OpPropose).
	Command *Command `json:"command,omitempty"`
	// Forwarded marks a request a follower already forwarded, so it is never
	// forwarded twice (a leadership change mid-call is answered with an error).
	Forwarded bool `json:"forwarded,omitempty"`
}

// Controller RPC ops.
const (
	OpRegister           = "register"
	OpCreateTopic        = "create_topic"
	OpDeleteTopic        = "delete_topic"
	OpAddPartitions      = "add_partitions"
	OpSetConfigs         = "set_configs"
	OpAllocatePIDs       = "allocate_pids"
	OpHeartbeat          = "heartbeat"
	OpAlterISR           = "alter_isr"
	OpControlledShutdown = "controlled_shutdown"
	OpElectPreferred     = "elect_preferred"
	OpReassign           = "reassign"
	OpAddNode            = "add_node"
	OpRemoveNode         = "remove_node"
	OpStatus             = "status"
	OpPropose            = "propose"
)

// ControllerResponse answers a ControllerRequest.
type ControllerResponse struct {
	// Code classifies Error as one of this package's sentinels (errorCodes).
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// Version is the metadata version after the change; a forwarding node
	// waits until it has applied it, so its next read sees the change.
	Version uint64  `json:"version,omitempty"`
	Topic   *Topic  `json:"topic,omitempty"`
	First   int64   `json:"first,omitempty"`
	Status  *Status `json:"status,omitempty"`
	// Results answers ElectPreferred and Reassign per partition ("" = done).
	Results []string `json:"results,omitempty"`
}

// ISRChange is a partition leader's request to shrink or expand its ISR. It is
// refused unless Leader still leads at LeaderEpoch (a deposed leader is fenced).
type ISRChange struct {
	Topic       string  `json:"topic"`
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leader_epoch"`
	ISR         []int32 `json:"isr"`
}

// Reassignment moves a partition to a new replica list.
type Reassignment struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
}

// PartitionRef names a partition.
type PartitionRef struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// NodeSpec names a raft member.
type NodeSpec struct {
	ID       int32  `json:"id"`
	RaftAddr string `json:"raft_addr"`
}

// Status is what `tributary cluster status` shows.
type Status struct {
	Controller int32          `json:"controller"`
	Members    []Member       `json:"members"`
	Brokers    []Broker       `json:"brokers"`
	Under      []PartitionRef `json:"under_replicated"`
	Offline    []PartitionRef `json:"offline"`
	Version    uint64         `json:"version"`
}

// Member is one raft server.
type Member struct {
	ID       int32  `json:"id"`
	RaftAddr string `json:"raft_addr"`
	Voter    bool   `json:"voter"`
}

// ErrNotController: the node asked is not the raft leader and could not forward.
var ErrNotController = errors.New("cluster: not the controller")

// ErrStaleLeader: an ISR change from a broker that no longer leads the
// partition at that epoch (FENCED_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER).
var ErrStaleLeader = errors.New("cluster: stale partition leader")

// ErrUnknownBroker: a heartbeat from a broker the metadata does not know; it
// registers again.
var ErrUnknownBroker = errors.New("cluster: unknown broker")

// errorCodes names the sentinels that cross the controller RPC.
var errorCodes = map[string]error{
	"topic_exists":               ErrTopicExists,
	"unknown_topic":              ErrUnknownTopic,
	"invalid_topic":              ErrInvalidTopic,
	"invalid_partitions":         ErrInvalidPartitions,
	"invalid_replication_factor": ErrInvalidReplicationFactor,
	"invalid_config":             ErrInvalidConfig,
	"reserved_topic":             ErrReservedTopic,
	"invalid_replica_assignment": ErrInvalidReplicaAssignment,
	"invalid_command":            ErrInvalidCommand,
	"closed":                     ErrClosed,
	"not_controller":             ErrNotController,
	"stale_leader":               ErrStaleLeader,
	"unknown_broker":             ErrUnknownBroker,
}

// remoteError is an error that came back over the controller RPC; errors.Is
// finds its sentinel.
type remoteError struct {
	sentinel error
	msg      string
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

func encodeError(err error) (code, msg string) {
	for c, s := range errorCodes {
		if errors.Is(err, s) {
			return c, err.Error()
		}
	}
	return "", err.Error()
}

// Err returns the response's error, classified, or nil.
func (r *ControllerResponse) Err() error {
	if r.Error == "" {
		return nil
	}
	return &remoteError{sentinel: errorCodes[r.Code], msg: r.Error}
}

// Call sends one controller RPC to the raft port at addr. Any node answers:
// one that is not the controller forwards the request to it.
func Call(addr string, req ControllerRequest, timeout time.Duration) (ControllerResponse, error) {
	c, err := dialMux(addr, muxController, timeout)
	if err != nil {
		return ControllerResponse{}, fmt.Errorf("controller rpc %s: %w", req.Op, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return ControllerResponse{}, fmt.Errorf("controller rpc %s to %s: %w", req.Op, addr, err)
	}
	var resp ControllerResponse
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return ControllerResponse{}, fmt.Errorf("controller rpc %s to %s: %w", req.Op, addr, err)
	}
	return resp, nil
}

// serveRPC answers one controller RPC connection.
func serveRPC(c net.Conn, timeout time.Duration, handle func(ControllerRequest) ControllerResponse) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	var req ControllerRequest
	if err := json.NewDecoder(c).Decode(&req); err != nil {
		return
	}
	resp := handle(req)
	_ = c.SetDeadline(time.Now().Add(timeout))
	_ = json.NewEncoder(c).Encode(resp)
}
