package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleEndTxn commits or aborts the producer's transaction. Success means the
// decision is durable; the markers are written before the answer unless a
// partition refuses them, in which case the coordinator keeps retrying.
func (s *Server) handleEndTxn(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.EndTxnRequest)
	if !ok {
		return nil, fmt.Errorf("%w: end txn handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	c, err := s.txnsOrErr()
	if err == nil {
		err = c.EndTxn(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit)
	}
	resp.ErrorCode = txnErrorCode(err, r.Version >= 2)
	return resp, nil
}
