package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/tributary-io/tributary/broker/txn"
)

// SetTxns installs the transaction coordinator that serves InitProducerId for
// transactional ids, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
// DescribeTransactions, ListTransactions and FindCoordinator for transaction
// keys. Call it before Serve. Without one those answer COORDINATOR_NOT_AVAILABLE;
// idempotent producers (no transactional id) are served either way.
func (s *Server) SetTxns(c *txn.Coordinator) { s.txns = c }

// txnsOrErr returns the transaction coordinator, or the retriable error clients
// get before one is installed.
func (s *Server) txnsOrErr() (*txn.Coordinator, error) {
	if s.txns == nil {
		return nil, txn.ErrCoordinatorNotAvailable
	}
	return s.txns, nil
}

// txnErrorCode is errorCode for the transaction APIs: clients older than
// PRODUCER_FENCED (KIP-588) get INVALID_PRODUCER_EPOCH instead, as Kafka answers
// them. knowsFenced is whether the request version understands the new code.
func txnErrorCode(err error, knowsFenced bool) int16 {
	code := errorCode(err)
	if code == kerr.ProducerFenced.Code && !knowsFenced {
		return kerr.InvalidProducerEpoch.Code
	}
	return code
}
