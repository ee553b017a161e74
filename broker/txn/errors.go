package txn

import "errors"

// Errors returned by the producer state and the transaction coordinator. Callers
// classify them with errors.Is; broker/kafka maps each to its Kafka error code
// (named on the right) in one table.
var (
	// ErrOutOfOrderSequence: a batch's first sequence does not follow the last one
	// the partition holds for the producer (a gap, or a new epoch not starting at 0).
	ErrOutOfOrderSequence = errors.New("txn: out of order sequence number") // OUT_OF_ORDER_SEQUENCE_NUMBER
	// ErrInvalidProducerEpoch: a batch carries an epoch older than the partition's
	// (a zombie producer after a fence, or a timed-out transaction).
	ErrInvalidProducerEpoch = errors.New("txn: producer epoch is older than the current one") // INVALID_PRODUCER_EPOCH
	// ErrProducerFenced: a newer epoch of the transactional id exists.
	ErrProducerFenced = errors.New("txn: producer fenced by a newer epoch") // PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before it existed)
	// ErrInvalidProducerIDMapping: the producer id is not the one of the transactional id.
	ErrInvalidProducerIDMapping = errors.New("txn: producer id does not belong to the transactional id") // INVALID_PRODUCER_ID_MAPPING
	// ErrInvalidTxnState: the request does not fit the transaction's state (EndTxn
	// with no transaction, a non-transactional write inside one).
	ErrInvalidTxnState = errors.New("txn: invalid transaction state") // INVALID_TXN_STATE
	// ErrConcurrentTransactions: the previous transaction is still completing; retry.
	ErrConcurrentTransactions = errors.New("txn: previous transaction is still completing") // CONCURRENT_TRANSACTIONS
	// ErrInvalidTransactionTimeout: transaction.timeout.ms above transaction.max.timeout.ms or not positive.
	ErrInvalidTransactionTimeout = errors.New("txn: invalid transaction timeout") // INVALID_TRANSACTION_TIMEOUT
	// ErrInvalidTransactionalID: an empty transactional id.
	ErrInvalidTransactionalID = errors.New("txn: invalid transactional id") // INVALID_REQUEST
	// ErrTransactionalIDNotFound: DescribeTransactions of an id the coordinator does not know.
	ErrTransactionalIDNotFound = errors.New("txn: transactional id not found") // TRANSACTIONAL_ID_NOT_FOUND
	// ErrNotCoordinator: this node does not own the transactional id's partition of __transaction_state.
	ErrNotCoordinator = errors.New("txn: not the coordinator for this transactional id") // NOT_COORDINATOR
	// ErrCoordinatorNotAvailable: the coordinator is stopped or cannot write its state.
	ErrCoordinatorNotAvailable = errors.New("txn: coordinator not available") // COORDINATOR_NOT_AVAILABLE
	// ErrLoadInProgress: the coordinator is still loading __transaction_state.
	ErrLoadInProgress = errors.New("txn: coordinator load in progress") // COORDINATOR_LOAD_IN_PROGRESS
	// ErrTransactionCoordinatorFenced: a marker from a coordinator epoch older than
	// one the partition has already seen for the producer.
	ErrTransactionCoordinatorFenced = errors.New("txn: marker from an older transaction coordinator") // TRANSACTION_COORDINATOR_FENCED
	// ErrControlBatchFromClient: clients may not write control batches (markers).
	ErrControlBatchFromClient = errors.New("txn: a client produce request cannot contain control batches") // INVALID_RECORD
	// ErrBadSnapshot: a producer snapshot file that does not decode.
	ErrBadSnapshot = errors.New("txn: damaged producer snapshot")
	// ErrBadRecord: a __transaction_state record that does not decode.
	ErrBadRecord = errors.New("txn: damaged transaction state record")
)
