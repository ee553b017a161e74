package txn

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// Describe returns the state of a transactional id (DescribeTransactions).
func (c *Coordinator) Describe(id string) (Txn, error) {
	s, err := c.lock(id)
	if err != nil {
		return Txn{}, err
	}
	defer s.mu.Unlock()
	t, ok := s.txns[id]
	if !ok {
		return Txn{}, ErrTransactionalIDNotFound
	}
	t.Partitions = slices.Clone(t.Partitions)
	return t, nil
}

// ListFilter selects transactions for ListTransactions; zero values select all.
type ListFilter struct {
	States      []State
	ProducerIDs []int64
	// MinDuration keeps only transactions whose latest one started more than this
	// long ago (v1; ids that never started one pass, as in Kafka).
	MinDuration time.Duration
	// Pattern keeps only transactional ids it matches (v2).
	Pattern *regexp.Regexp
}

// Listing is one transactional id as ListTransactions shows it.
type Listing struct {
	ID         string
	ProducerID int64
	State      State
}

// List lists the transactional ids this coordinator holds that pass f, sorted by
// id. The error is ErrLoadInProgress while some partition is still loading (the
// list is then partial).
func (c *Coordinator) List(now time.Time, f ListFilter) ([]Listing, error) {
	var out []Listing
	var err error
	for _, s := range c.shards {
		s.mu.Lock()
		if !s.loaded {
			err = ErrLoadInProgress
		}
		for id, t := range s.txns {
			if f.match(t, now) {
				out = append(out, Listing{ID: id, ProducerID: t.ProducerID, State: t.State})
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Listing) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

func (f ListFilter) match(t Txn, now time.Time) bool {
	if len(f.States) > 0 && !slices.Contains(f.States, t.State) {
		return false
	}
	if len(f.ProducerIDs) > 0 && !slices.Contains(f.ProducerIDs, t.ProducerID) {
		return false
	}
	if f.MinDuration > 0 && !t.StartTime.IsZero() && now.Sub(t.StartTime) <= f.MinDuration {
		return false
	}
	if f.Pattern != nil && !f.Pattern.MatchString(t.ID) {
		return false
	}
	return true
}
