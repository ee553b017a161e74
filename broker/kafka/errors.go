package kafka

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/record"
	"github.com/tributary-io/tributary/broker/replication"
	"github.com/tributary-io/tributary/broker/txn"
)

// errorCodes maps the typed errors of the broker's packages to Kafka error codes.
// It is the only place that does; handlers call errorCode.
var errorCodes = []struct {
	err  error
	code *kerr.Error
}{
	// Producer-state and transaction errors come first: a transactional offset
	// commit refused by the producer state also wraps the group's
	// COORDINATOR_NOT_AVAILABLE, and the fencing must win.
	{txn.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	{txn.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{txn.ErrProducerFenced, kerr.ProducerFenced},
	{txn.ErrTransactionCoordinatorFenced, kerr.TransactionCoordinatorFenced},
	{txn.ErrInvalidProducerIDMapping, kerr.InvalidProducerIDMapping},
	{txn.ErrInvalidTxnState, kerr.InvalidTxnState},
	{txn.ErrConcurrentTransactions, kerr.ConcurrentTransactions},
	{txn.ErrInvalidTransactionTimeout, kerr.InvalidTransactionTimeout},
	{txn.ErrInvalidTransactionalID, kerr.InvalidRequest},
	{txn.ErrTransactionalIDNotFound, kerr.TransactionalIDNotFound},
	{txn.ErrNotCoordinator, kerr.NotCoordinator},
	{txn.ErrCoordinatorNotAvailable, kerr.CoordinatorNotAvailable},
	{txn.ErrLoadInProgress, kerr.CoordinatorLoadInProgress},
	{txn.ErrControlBatchFromClient, kerr.InvalidRecord},
	{replication.ErrNotLeader, kerr.NotLeaderForPartition},
	{replication.ErrStaleEpoch, kerr.NotLeaderForPartition},
	{replication.ErrNotReplica, kerr.NotLeaderForPartition},
	{replication.ErrNotEnoughReplicas, kerr.NotEnoughReplicas},
	{replication.ErrNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend},
	{replication.ErrReplicationTimeout, kerr.RequestTimedOut},
	{record.ErrCRC, kerr.CorruptMessage},
	{record.ErrCorrupt, kerr.CorruptMessage},
	{record.ErrTooShort, kerr.CorruptMessage},
	{record.ErrUnsupportedMagic, kerr.UnsupportedForMessageFormat},
	{record.ErrInvalidRecord, kerr.InvalidRecord},
	{log.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{log.ErrBatchTooLarge, kerr.MessageTooLarge},
	{log.ErrClosed, kerr.NotLeaderForPartition},
	{log.ErrCorruptSegment, kerr.KafkaStorageError},
	{log.ErrUnknownConfig, kerr.InvalidConfig},
	{cluster.ErrTopicExists, kerr.TopicAlreadyExists},
	{cluster.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{cluster.ErrInvalidTopic, kerr.InvalidTopicException},
	{cluster.ErrInvalidPartitions, kerr.InvalidPartitions},
	{cluster.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
	{cluster.ErrInvalidConfig, kerr.InvalidConfig},
	{cluster.ErrReservedTopic, kerr.InvalidRequest},
	{cluster.ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment},
	// A closed metadata store is a broker shutting down, or one whose metadata
	// disk failed; either way the client should retry, elsewhere or later.
	{cluster.ErrClosed, kerr.KafkaStorageError},
	{group.ErrInvalidGroupID, kerr.InvalidGroupID},
	{group.ErrUnknownMemberID, kerr.UnknownMemberID},
	{group.ErrIllegalGeneration, kerr.IllegalGeneration},
	{group.ErrRebalanceInProgress, kerr.RebalanceInProgress},
	{group.ErrFencedInstanceID, kerr.FencedInstanceID},
	{group.ErrInconsistentProtocol, kerr.InconsistentGroupProtocol},
	{group.ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout},
	{group.ErrMemberIDRequired, kerr.MemberIDRequired},
	{group.ErrGroupMaxSizeReached, kerr.GroupMaxSizeReached},
	{group.ErrCoordinatorNotAvailable, kerr.CoordinatorNotAvailable},
	{group.ErrNotCoordinator, kerr.NotCoordinator},
	{group.ErrLoadInProgress, kerr.CoordinatorLoadInProgress},
	{group.ErrGroupNotFound, kerr.GroupIDNotFound},
	{group.ErrNonEmptyGroup, kerr.NonEmptyGroup},
	{group.ErrGroupSubscribedToTopic, kerr.GroupSubscribedToTopic},
	{group.ErrOffsetMetadataTooLarge, kerr.OffsetMetadataTooLarge},
}

// errorCode returns the Kafka error code for err: 0 for nil, the mapped code for a
// known error, UNKNOWN_SERVER_ERROR otherwise.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.code.Code
		}
	}
	return kerr.UnknownServerError.Code
}

// errorMessage returns a message for responses that carry one, or nil for nil.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
