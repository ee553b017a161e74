package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleDescribeTransactions describes transactional ids: state, timeout, start,
// producer id and epoch, and the partitions of the open transaction.
func (s *Server) handleDescribeTransactions(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DescribeTransactionsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: describe transactions handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	c, cerr := s.txnsOrErr()
	for _, id := range req.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID = id
		err := cerr
		if err == nil {
			t, derr := c.Describe(id)
			err = derr
			if err == nil {
				st.State = t.State.String()
				st.TimeoutMillis = int32(t.Timeout.Milliseconds())
				st.StartTimestamp = -1
				if !t.StartTime.IsZero() {
					st.StartTimestamp = t.StartTime.UnixMilli()
				}
				st.ProducerID, st.ProducerEpoch = t.ProducerID, t.Epoch
				for _, tp := range t.Partitions {
					if n := len(st.Topics); n > 0 && st.Topics[n-1].Topic == tp.Topic {
						st.Topics[n-1].Partitions = append(st.Topics[n-1].Partitions, tp.Partition)
						continue
					}
					rt := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
					rt.Topic, rt.Partitions = tp.Topic, []int32{tp.Partition}
					st.Topics = append(st.Topics, rt)
				}
			}
		}
		if err != nil {
			st.ErrorCode = errorCode(err)
			st.ProducerID, st.ProducerEpoch, st.StartTimestamp = -1, -1, -1
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp, nil
}
