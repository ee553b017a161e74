package kafka

import (
	"fmt"
	"regexp"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/txn"
)

// handleListTransactions lists the transactional ids this coordinator holds,
// filtered by state, producer id, duration (v1: transactions started more than
// DurationFilterMillis ago) and id pattern (v2, a regular expression; RE2 syntax,
// which covers the common Java patterns). Unknown state names are returned in
// UnknownStateFilters and match nothing.
func (s *Server) handleListTransactions(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.ListTransactionsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: list transactions handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	c, err := s.txnsOrErr()
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp, nil
	}
	f := txn.ListFilter{ProducerIDs: req.ProducerIDFilters}
	for _, name := range req.StateFilters {
		st, ok := txn.ParseState(name)
		if !ok {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, name)
			continue
		}
		f.States = append(f.States, st)
	}
	if len(req.StateFilters) > 0 && len(f.States) == 0 {
		return resp, nil // only unknown states: nothing matches
	}
	if r.Version >= 1 && req.DurationFilterMillis > 0 {
		f.MinDuration = time.Duration(req.DurationFilterMillis) * time.Millisecond
	}
	if r.Version >= 2 && req.TransactionalIDPattern != nil && *req.TransactionalIDPattern != "" {
		re, err := regexp.Compile(*req.TransactionalIDPattern)
		if err != nil {
			resp.ErrorCode = kerr.InvalidRegularExpression.Code
			return resp, nil
		}
		f.Pattern = re
	}
	ls, err := c.List(s.cfg.Now(), f)
	resp.ErrorCode = errorCode(err)
	for _, l := range ls {
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = l.ID, l.ProducerID, l.State.String()
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp, nil
}
