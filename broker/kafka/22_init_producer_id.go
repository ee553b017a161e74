package kafka

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/txn"
)

// handleInitProducerID hands out a producer id and epoch. Without a
// transactional id (an idempotent producer) any broker answers with a new id at
// epoch 0; that is also how an idempotent producer recovers under KIP-360, since
// its old sequences belong to its old id. With a transactional id the
// coordinator bumps the epoch, fencing older instances (and aborting their open
// transaction), or rotates to a new id once the epoch is exhausted.
func (s *Server) handleInitProducerID(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.InitProducerIDRequest)
	if !ok {
		return nil, fmt.Errorf("%w: init producer id handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	fail := func(err error) (kmsg.Response, error) {
		resp.ErrorCode = txnErrorCode(err, r.Version >= 4)
		resp.ProducerID, resp.ProducerEpoch = -1, -1
		return resp, nil
	}
	if req.TransactionalID == nil {
		id, err := s.ids.Next()
		if err != nil {
			return fail(err)
		}
		resp.ProducerID, resp.ProducerEpoch = id, 0
		return resp, nil
	}
	c, err := s.txnsOrErr()
	if err != nil {
		return fail(err)
	}
	pid, epoch, err := c.InitProducerID(*req.TransactionalID, txn.InitRequest{
		Timeout:    time.Duration(req.TransactionTimeoutMillis) * time.Millisecond,
		ProducerID: req.ProducerID,
		Epoch:      req.ProducerEpoch,
	})
	if err != nil {
		return fail(err)
	}
	resp.ProducerID, resp.ProducerEpoch = pid, epoch
	return resp, nil
}
