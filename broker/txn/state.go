package txn

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// State is a transaction's state, numbered as Kafka stores it in
// __transaction_state.
type State int8

// Transaction states.
const (
	// Empty: a producer id and epoch are assigned; no transaction is open.
	Empty State = 0
	// Ongoing: partitions were added; the transaction is open.
	Ongoing State = 1
	// PrepareCommit: EndTxn(commit) is decided and stored; markers are being written.
	PrepareCommit State = 2
	// PrepareAbort: an abort is decided and stored; markers are being written.
	PrepareAbort State = 3
	// CompleteCommit: every commit marker is written.
	CompleteCommit State = 4
	// CompleteAbort: every abort marker is written.
	CompleteAbort State = 5
	// Dead: the transactional id expired and is being removed (a tombstone).
	Dead State = 6
	// PrepareEpochFence: an open transaction is being aborted by the coordinator
	// (timeout, or InitProducerId while it was open) with a bumped epoch that
	// fences the old producer. Never stored: the abort that follows is.
	PrepareEpochFence State = 7
)

// String is the name Kafka's admin APIs use (DescribeTransactions, ListTransactions).
func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case Ongoing:
		return "Ongoing"
	case PrepareCommit:
		return "PrepareCommit"
	case PrepareAbort:
		return "PrepareAbort"
	case CompleteCommit:
		return "CompleteCommit"
	case CompleteAbort:
		return "CompleteAbort"
	case Dead:
		return "Dead"
	case PrepareEpochFence:
		return "PrepareEpochFence"
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

// ParseState is the inverse of String, ignoring case.
func ParseState(name string) (State, bool) {
	for s := Empty; s <= PrepareEpochFence; s++ {
		if strings.EqualFold(s.String(), name) {
			return s, true
		}
	}
	return 0, false
}

// validPrevious reports whether a transaction may move from one state to
// another; these are Kafka's transitions.
func validPrevious(from, to State) bool {
	switch to {
	case Empty:
		return from == Empty || from == CompleteCommit || from == CompleteAbort
	case Ongoing:
		return from == Ongoing || from == Empty || from == CompleteCommit || from == CompleteAbort
	case PrepareCommit:
		return from == Ongoing
	case PrepareAbort:
		return from == Ongoing || from == PrepareEpochFence
	case CompleteCommit:
		return from == PrepareCommit
	case CompleteAbort:
		return from == PrepareAbort
	case Dead:
		return from == Empty || from == CompleteCommit || from == CompleteAbort
	case PrepareEpochFence:
		return from == Ongoing
	}
	return false
}

// TopicPartition names a partition of a transaction.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func compareTP(a, b TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// Txn is the coordinator's state of one transactional id. It is a value: the
// transition methods return the next value and leave the receiver alone, so
// the driver can store the next state before it installs it. They do no I/O
// and read no clock.
type Txn struct {
	ID         string
	ProducerID int64
	// LastProducerID is the producer id before the last rotation (-1 for none),
	// so a retried InitProducerId after an epoch overflow is recognised.
	LastProducerID int64
	// Epoch is -1 until the first InitProducerId completes.
	Epoch int16
	// LastEpoch is the epoch before the last bump (-1 for none), so a retried
	// InitProducerId gets the same answer. Kafka does not store it; neither do we.
	LastEpoch int16
	Timeout   time.Duration
	State     State
	// Partitions are the transaction's partitions, sorted, without repeats.
	Partitions []TopicPartition
	// StartTime is when the open (or last) transaction began; zero before any.
	StartTime  time.Time
	LastUpdate time.Time
}

// NewTxn is a transactional id seen for the first time, with its producer id.
func NewTxn(id string, producerID int64, now time.Time) Txn {
	return Txn{ID: id, ProducerID: producerID, LastProducerID: -1, Epoch: -1, LastEpoch: -1, State: Empty, LastUpdate: now}
}

// maxEpoch: epochs at or above it are exhausted; the next InitProducerId rotates
// to a new producer id (Kafka keeps Short.MaxValue for the fencing bump).
const maxEpoch = math.MaxInt16 - 1

func epochExhausted(e int16) bool { return e >= maxEpoch }

// to returns t moved to state at now, or an error if Kafka's state diagram has
// no such edge (a coordinator bug, never a client's).
func (t Txn) to(state State, now time.Time) (Txn, error) {
	if !validPrevious(t.State, state) {
		return t, fmt.Errorf("transactional id %q: illegal transition %s -> %s: %w", t.ID, t.State, state, ErrInvalidTxnState)
	}
	t.State = state
	t.LastUpdate = now
	t.Partitions = slices.Clone(t.Partitions)
	return t, nil
}

// InitRequest is an InitProducerId for a transactional id.
type InitRequest struct {
	Timeout time.Duration
	// ProducerID and Epoch are the caller's current ones (KIP-360), or -1 for a
	// producer starting up.
	ProducerID int64
	Epoch      int16
}

// InitProducerID decides an InitProducerId. The result is Empty with a bumped
// epoch (or, once the epoch is exhausted, a new producer id from newID with
// epoch 0). For an Ongoing transaction the result is PrepareEpochFence: the
// driver must abort that transaction (EndTxn from the coordinator) and ask again.
func (t Txn) InitProducerID(now time.Time, req InitRequest, newID func() (int64, error)) (Txn, error) {
	if req.ProducerID >= 0 && !t.validProducerID(req.ProducerID, req.Epoch) {
		return t, fmt.Errorf("transactional id %q has producer id %d, not %d: %w", t.ID, t.ProducerID, req.ProducerID, ErrProducerFenced)
	}
	switch t.State {
	case PrepareCommit, PrepareAbort, PrepareEpochFence, Dead:
		return t, fmt.Errorf("transactional id %q is %s: %w", t.ID, t.State, ErrConcurrentTransactions)
	case Ongoing:
		return t.Fence(now)
	}
	if epochExhausted(t.Epoch) && (req.ProducerID < 0 || req.Epoch == t.Epoch) {
		id, err := newID()
		if err != nil {
			return t, err
		}
		next, err := t.to(Empty, now)
		if err != nil {
			return t, err
		}
		next.LastProducerID, next.ProducerID = t.ProducerID, id
		next.LastEpoch = -1
		if req.ProducerID >= 0 {
			next.LastEpoch = t.Epoch
		}
		next.Epoch = 0
		next.Timeout, next.Partitions = req.Timeout, nil
		return next, nil
	}
	epoch, last := t.Epoch+1, int16(-1)
	if req.ProducerID >= 0 {
		switch {
		case t.Epoch < 0 || req.Epoch == t.Epoch:
			last = t.Epoch
		case req.Epoch == t.LastEpoch:
			// A retry of a bump that succeeded: answer the same again.
			epoch, last = t.Epoch, t.LastEpoch
		default:
			return t, fmt.Errorf("transactional id %q is at epoch %d, the producer has %d: %w", t.ID, t.Epoch, req.Epoch, ErrProducerFenced)
		}
	}
	next, err := t.to(Empty, now)
	if err != nil {
		return t, err
	}
	next.Epoch, next.LastEpoch = epoch, last
	next.Timeout, next.Partitions = req.Timeout, nil
	return next, nil
}

// validProducerID is Kafka's check of a KIP-360 InitProducerId: fresh state, the
// same producer id, or the previous one at an exhausted epoch (a retry after a
// rotation whose answer was lost).
func (t Txn) validProducerID(pid int64, epoch int16) bool {
	return t.Epoch < 0 || pid == t.ProducerID || (pid == t.LastProducerID && epochExhausted(epoch))
}

// checkProducer is the producer id and epoch check of AddPartitionsToTxn and EndTxn.
func (t Txn) checkProducer(pid int64, epoch int16, exact bool) error {
	if pid != t.ProducerID {
		return fmt.Errorf("transactional id %q has producer id %d, not %d: %w", t.ID, t.ProducerID, pid, ErrInvalidProducerIDMapping)
	}
	if epoch < t.Epoch || (exact && epoch != t.Epoch) {
		return fmt.Errorf("transactional id %q is at epoch %d, the producer has %d: %w", t.ID, t.Epoch, epoch, ErrProducerFenced)
	}
	return nil
}

// AddPartitions adds partitions to the transaction, opening it if none is open.
// changed is false when they were all in it already (nothing to store).
func (t Txn) AddPartitions(now time.Time, pid int64, epoch int16, parts []TopicPartition) (next Txn, changed bool, err error) {
	if err := t.checkProducer(pid, epoch, true); err != nil {
		return t, false, err
	}
	switch t.State {
	case PrepareCommit, PrepareAbort, PrepareEpochFence, Dead:
		return t, false, fmt.Errorf("transactional id %q is %s: %w", t.ID, t.State, ErrConcurrentTransactions)
	}
	merged := slices.Clone(t.Partitions)
	for _, tp := range parts {
		if i, found := slices.BinarySearchFunc(merged, tp, compareTP); !found {
			merged = slices.Insert(merged, i, tp)
		}
	}
	if t.State == Ongoing && len(merged) == len(t.Partitions) {
		return t, false, nil
	}
	next, err = t.to(Ongoing, now)
	if err != nil {
		return t, false, err
	}
	if t.State != Ongoing {
		next.StartTime = now
	}
	next.Partitions = merged
	return next, true, nil
}

// EndTxn decides an EndTxn. fromClient is false for the coordinator's own abort
// of a fenced transaction, whose epoch may be newer than the stored one. The
// result is PrepareCommit or PrepareAbort (store it, write the markers, then
// Complete), or t itself when the same decision was already completed (a retry:
// answer success without writing).
func (t Txn) EndTxn(now time.Time, pid int64, epoch int16, commit, fromClient bool) (Txn, error) {
	if err := t.checkProducer(pid, epoch, fromClient); err != nil {
		return t, err
	}
	want := PrepareAbort
	if commit {
		want = PrepareCommit
	}
	switch {
	case t.State == Ongoing, t.State == PrepareEpochFence && !commit && !fromClient:
		next, err := t.to(want, now)
		if err != nil {
			return t, err
		}
		if t.State == PrepareEpochFence {
			next.Epoch, next.LastEpoch = epoch, -1
		}
		return next, nil
	case t.State == CompleteCommit && commit, t.State == CompleteAbort && !commit:
		return t, nil
	case t.State == PrepareCommit && commit, t.State == PrepareAbort && !commit:
		return t, fmt.Errorf("transactional id %q is %s: %w", t.ID, t.State, ErrConcurrentTransactions)
	}
	verb := "abort"
	if commit {
		verb = "commit"
	}
	return t, fmt.Errorf("transactional id %q cannot %s in state %s: %w", t.ID, verb, t.State, ErrInvalidTxnState)
}

// Complete moves a prepared transaction to CompleteCommit or CompleteAbort once
// every marker is written. The partitions are cleared; the start time is kept.
func (t Txn) Complete(now time.Time) (Txn, error) {
	state := CompleteAbort
	if t.State == PrepareCommit {
		state = CompleteCommit
	}
	next, err := t.to(state, now)
	if err != nil {
		return t, err
	}
	next.Partitions = nil
	return next, nil
}

// Fence starts the coordinator's abort of an open transaction: PrepareEpochFence
// with the epoch bumped, so the old producer's writes and requests are refused.
// Follow it with EndTxn(abort, fromClient=false) at the bumped epoch.
func (t Txn) Fence(now time.Time) (Txn, error) {
	next, err := t.to(PrepareEpochFence, now)
	if err != nil {
		return t, err
	}
	if next.Epoch < math.MaxInt16 {
		next.Epoch++
	}
	next.LastEpoch = -1
	return next, nil
}

// TimedOut reports whether an open transaction ran past its timeout at now.
func (t Txn) TimedOut(now time.Time) bool {
	return t.State == Ongoing && !now.Before(t.StartTime.Add(t.Timeout))
}

// Expire moves an idle transactional id to Dead when it has not been used for
// expiration (transactional.id.expiration.ms); ok is false when it must stay.
func (t Txn) Expire(now time.Time, expiration time.Duration) (next Txn, ok bool) {
	switch t.State {
	case Empty, CompleteCommit, CompleteAbort:
	default:
		return t, false
	}
	if now.Sub(t.LastUpdate) < expiration {
		return t, false
	}
	next, err := t.to(Dead, now)
	return next, err == nil
}

func sortTPs(s []TopicPartition) { slices.SortFunc(s, compareTP) }
