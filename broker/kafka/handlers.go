package kafka

import "github.com/twmb/franz-go/pkg/kmsg"

// Request is one decoded request as a handler sees it.
type Request struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      string
	// Msg is the decoded request body; its type matches Key. For Produce and Fetch
	// its byte fields alias the connection's read buffer, which the next request
	// overwrites: those handlers must not keep them after returning. Requests of
	// every other API own their bytes.
	Msg kmsg.Request
	// Conn describes the client connection.
	Conn *ConnInfo
}

// ConnInfo identifies a client connection, for logs and (later) principals.
type ConnInfo struct {
	ID         uint64
	RemoteAddr string
	Listener   string
	// sec is the connection's security state (security.go); nil on a
	// plaintext listener without an authorizer.
	sec *connSecurity
}

// api is one served API: its key, the versions really implemented, and the handler.
// A handler returns the response to send, or nil for none (produce with acks=0);
// an error closes the connection after logging it, and is only for cases where the
// protocol has no way to answer.
type api struct {
	Key        int16
	MinVersion int16
	MaxVersion int16
	Serve      func(s *Server, r *Request) (kmsg.Response, error)
}

// apis lists every API this broker serves. ApiVersions advertises exactly these
// (Produce from v0, see produceAdvertisedMin).
// Each entry's Serve lives in the file named by its key.
func apis() []api {
	return []api{
		// Produce v13 and Fetch v13+ name topics by id; Metadata v10+ returns the ids.
		{Key: 0, MinVersion: 3, MaxVersion: 13, Serve: (*Server).handleProduce},
		{Key: 1, MinVersion: 4, MaxVersion: 17, Serve: (*Server).handleFetch},
		{Key: 2, MinVersion: 1, MaxVersion: 10, Serve: (*Server).handleListOffsets},
		{Key: 3, MinVersion: 0, MaxVersion: 13, Serve: (*Server).handleMetadata},
		// Groups and offsets (broker/group). OffsetCommit/OffsetFetch v10 name topics
		// by id and FindCoordinator v6 adds share groups: not served.
		{Key: 8, MinVersion: 0, MaxVersion: 9, Serve: (*Server).handleOffsetCommit},
		{Key: 9, MinVersion: 0, MaxVersion: 9, Serve: (*Server).handleOffsetFetch},
		{Key: 10, MinVersion: 0, MaxVersion: 5, Serve: (*Server).handleFindCoordinator},
		{Key: 11, MinVersion: 0, MaxVersion: 9, Serve: (*Server).handleJoinGroup},
		{Key: 12, MinVersion: 0, MaxVersion: 4, Serve: (*Server).handleHeartbeat},
		{Key: 13, MinVersion: 0, MaxVersion: 5, Serve: (*Server).handleLeaveGroup},
		{Key: 14, MinVersion: 0, MaxVersion: 5, Serve: (*Server).handleSyncGroup},
		{Key: 15, MinVersion: 0, MaxVersion: 6, Serve: (*Server).handleDescribeGroups},
		{Key: 16, MinVersion: 0, MaxVersion: 5, Serve: (*Server).handleListGroups},
		// v5 (KIP-1242: the client names the cluster and node it expects) is not served.
		{Key: 18, MinVersion: 0, MaxVersion: 4, Serve: (*Server).handleAPIVersions},
		{Key: 19, MinVersion: 0, MaxVersion: 7, Serve: (*Server).handleCreateTopics},
		{Key: 20, MinVersion: 0, MaxVersion: 6, Serve: (*Server).handleDeleteTopics},
		{Key: 21, MinVersion: 0, MaxVersion: 2, Serve: (*Server).handleDeleteRecords},
		// Idempotence and transactions (broker/txn). InitProducerId v5, AddOffsetsToTxn
		// v4, EndTxn v4 and TxnOffsetCommit v4 only allow TRANSACTION_ABORTABLE, which
		// is never returned; AddPartitionsToTxn v4+ is broker-to-broker, and EndTxn
		// v5 and TxnOffsetCommit v5+ belong to transaction version 2 (KIP-890), which
		// is not advertised.
		{Key: 22, MinVersion: 0, MaxVersion: 5, Serve: (*Server).handleInitProducerID},
		{Key: 23, MinVersion: 0, MaxVersion: 4, Serve: (*Server).handleOffsetForLeaderEpoch},
		{Key: 24, MinVersion: 0, MaxVersion: 3, Serve: (*Server).handleAddPartitionsToTxn},
		{Key: 25, MinVersion: 0, MaxVersion: 4, Serve: (*Server).handleAddOffsetsToTxn},
		{Key: 26, MinVersion: 0, MaxVersion: 4, Serve: (*Server).handleEndTxn},
		// WriteTxnMarkers is broker-to-broker: a coordinator's markers for the
		// partitions this node leads. v2 adds KIP-890's transaction version.
		{Key: 27, MinVersion: 0, MaxVersion: 1, Serve: (*Server).handleWriteTxnMarkers},
		{Key: 28, MinVersion: 0, MaxVersion: 4, Serve: (*Server).handleTxnOffsetCommit},
		{Key: 32, MinVersion: 0, MaxVersion: 4, Serve: (*Server).handleDescribeConfigs},
		{Key: 33, MinVersion: 0, MaxVersion: 2, Serve: (*Server).handleAlterConfigs},
		{Key: 35, MinVersion: 0, MaxVersion: 4, Serve: (*Server).handleDescribeLogDirs},
		{Key: 37, MinVersion: 0, MaxVersion: 3, Serve: (*Server).handleCreatePartitions},
		{Key: 42, MinVersion: 0, MaxVersion: 2, Serve: (*Server).handleDeleteGroups},
		{Key: 44, MinVersion: 0, MaxVersion: 1, Serve: (*Server).handleIncrementalAlterConfigs},
		{Key: 47, MinVersion: 0, MaxVersion: 0, Serve: (*Server).handleOffsetDelete},
		// Replication operations (issue 6): preferred leader election and
		// partition reassignment run on the controller of a cluster.
		{Key: 43, MinVersion: 0, MaxVersion: 2, Serve: (*Server).handleElectLeaders},
		{Key: 45, MinVersion: 0, MaxVersion: 0, Serve: (*Server).handleAlterPartitionReassignments},
		{Key: 46, MinVersion: 0, MaxVersion: 0, Serve: (*Server).handleListPartitionReassignments},
		{Key: 60, MinVersion: 0, MaxVersion: 1, Serve: (*Server).handleDescribeCluster},
		{Key: 61, MinVersion: 0, MaxVersion: 0, Serve: (*Server).handleDescribeProducers},
		{Key: 65, MinVersion: 0, MaxVersion: 0, Serve: (*Server).handleDescribeTransactions},
		{Key: 66, MinVersion: 0, MaxVersion: 2, Serve: (*Server).handleListTransactions},
		// Security (security.go, authz.go). SaslHandshake v0 is advertised because
		// librdkafka requires it to see SASL support, but a v0 handshake (raw SASL
		// frames after it) is refused; clients use v1 with SaslAuthenticate.
		{Key: 17, MinVersion: 0, MaxVersion: 1, Serve: (*Server).handleSASLHandshake},
		{Key: 36, MinVersion: 0, MaxVersion: 2, Serve: (*Server).handleSASLAuthenticate},
		{Key: 29, MinVersion: 0, MaxVersion: 3, Serve: (*Server).handleDescribeACLs},
		{Key: 30, MinVersion: 0, MaxVersion: 3, Serve: (*Server).handleCreateACLs},
		{Key: 31, MinVersion: 0, MaxVersion: 3, Serve: (*Server).handleDeleteACLs},
		{Key: 50, MinVersion: 0, MaxVersion: 0, Serve: (*Server).handleDescribeUserSCRAMCredentials},
		{Key: 51, MinVersion: 0, MaxVersion: 0, Serve: (*Server).handleAlterUserSCRAMCredentials},
	}
}
