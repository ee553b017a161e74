package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// runTxn dispatches `tributary txn <action>`.
func runTxn(ctx context.Context, c *cli, args []string) error {
	return dispatch(ctx, c, "txn", args, []action{
		{"list", "list transactional ids and the state of their transactions", txnList},
		{"describe", "show a transaction: state, producer, timeout, partitions, and its open producers", txnDescribe},
	})
}

// txnSummary is one row of `txn list`.
type txnSummary struct {
	TransactionalID string `json:"transactional_id"`
	State           string `json:"state"`
	ProducerID      int64  `json:"producer_id"`
	Coordinator     int32  `json:"coordinator"`
}

func txnList(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "txn list", "txn list [--state STATE]... [--producer-id ID]... [--pattern REGEX]")
	cf := addClientFlags(fs, c)
	var states, pids stringList
	fs.Var(&states, "state", "only transactions in this `state` (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort), repeatable")
	fs.Var(&pids, "producer-id", "only this producer `id`, repeatable")
	pattern := fs.String("pattern", "", "only transactional ids matching this regular `expression`")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	var ids []int64
	for _, p := range pids {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id < 0 {
			return usageErrorf("--producer-id %q: want a non-negative integer", p)
		}
		ids = append(ids, id)
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	var listed kadm.ListedTransactions
	if *pattern != "" {
		listed, err = adm.ListTransactionsByTxPattern(rctx, ids, states, *pattern)
	} else {
		listed, err = adm.ListTransactions(rctx, ids, states)
	}
	if err != nil {
		return fmt.Errorf("list transactions: %w", err)
	}
	out := []txnSummary{}
	for _, l := range listed.Sorted() {
		out = append(out, txnSummary{TransactionalID: l.TxnID, State: l.State, ProducerID: l.ProducerID, Coordinator: l.Coordinator})
	}
	if cf.json() {
		return writeJSON(c.stdout, out)
	}
	rows := make([][]string, 0, len(out))
	for _, s := range out {
		rows = append(rows, []string{s.TransactionalID, s.State, itoa(s.ProducerID), itoa(s.Coordinator)})
	}
	return writeTable(c.stdout, []string{"TRANSACTIONAL-ID", "STATE", "PRODUCER-ID", "COORDINATOR"}, rows)
}

// txnDescription is what `txn describe` prints for one transactional id.
type txnDescription struct {
	TransactionalID string `json:"transactional_id"`
	State           string `json:"state"`
	ProducerID      int64  `json:"producer_id"`
	ProducerEpoch   int16  `json:"producer_epoch"`
	TimeoutMs       int32  `json:"timeout_ms"`
	// Started is when the current (or last) transaction began, RFC 3339; empty
	// when none has.
	Started     string `json:"started,omitempty"`
	Coordinator int32  `json:"coordinator"`
	// Partitions are the open transaction's partitions, with the offset its
	// first record holds there (-1 when the producer has not written yet).
	Partitions []txnPartition `json:"partitions"`
}

type txnPartition struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	StartOffset int64  `json:"start_offset"`
}

func txnDescribe(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "txn describe", "txn describe TRANSACTIONAL-ID...")
	cf := addClientFlags(fs, c)
	ids, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return usageErrorf("no transactional id given")
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	described, err := adm.DescribeTransactions(rctx, ids...)
	if err != nil && len(described) == 0 {
		return fmt.Errorf("describe transactions: %w", err)
	}
	var out []txnDescription
	var errs []error
	for _, id := range ids {
		d, ok := described[id]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("transactional id %q: no answer", id))
			continue
		case errors.Is(d.Err, kerr.TransactionalIDNotFound):
			errs = append(errs, fmt.Errorf("transactional id %q: not found", id))
			continue
		case d.Err != nil:
			errs = append(errs, fmt.Errorf("transactional id %q: %w", id, d.Err))
			continue
		}
		out = append(out, describeTxn(d))
	}
	if len(out) == 0 {
		return errors.Join(errs...)
	}
	addStartOffsets(rctx, adm, out)
	if cf.json() {
		if err := writeJSON(c.stdout, out); err != nil {
			return err
		}
		return errors.Join(errs...)
	}
	for i, d := range out {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		fmt.Fprintf(c.stdout, "transaction %s: state %s, producer %d epoch %d, timeout %v, started %s, coordinator %d\n",
			d.TransactionalID, d.State, d.ProducerID, d.ProducerEpoch, time.Duration(d.TimeoutMs)*time.Millisecond, dash(d.Started), d.Coordinator)
		if len(d.Partitions) == 0 {
			continue
		}
		rows := make([][]string, 0, len(d.Partitions))
		for _, p := range d.Partitions {
			start := itoa(p.StartOffset)
			if p.StartOffset < 0 {
				start = "-"
			}
			rows = append(rows, []string{p.Topic, itoa(p.Partition), start})
		}
		if err := writeTable(c.stdout, []string{"TOPIC", "PARTITION", "TXN-START-OFFSET"}, rows); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func describeTxn(d kadm.DescribedTransaction) txnDescription {
	out := txnDescription{
		TransactionalID: d.TxnID, State: d.State, ProducerID: d.ProducerID, ProducerEpoch: d.ProducerEpoch,
		TimeoutMs: d.TimeoutMillis, Coordinator: d.Coordinator, Partitions: []txnPartition{},
	}
	if d.StartTimestamp >= 0 {
		out.Started = time.UnixMilli(d.StartTimestamp).UTC().Format(time.RFC3339)
	}
	for topic, ps := range d.Topics {
		for p := range ps {
			out.Partitions = append(out.Partitions, txnPartition{Topic: topic, Partition: p, StartOffset: -1})
		}
	}
	sort.Slice(out.Partitions, func(i, j int) bool {
		a, b := out.Partitions[i], out.Partitions[j]
		return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
	})
	return out
}

// addStartOffsets fills in where each open transaction begins in its
// partitions, from DescribeProducers (the partition leaders' producer state).
// It is best effort: a failure leaves the offsets unknown.
func addStartOffsets(ctx context.Context, adm *kadm.Client, ds []txnDescription) {
	set := kadm.TopicsSet{}
	for _, d := range ds {
		for _, p := range d.Partitions {
			set.Add(p.Topic, p.Partition)
		}
	}
	if len(set) == 0 {
		return
	}
	prods, err := adm.DescribeProducers(ctx, set)
	if err != nil && len(prods) == 0 {
		return
	}
	start := map[int64]map[string]map[int32]int64{}
	prods.EachProducer(func(p kadm.DescribedProducer) {
		if start[p.ProducerID] == nil {
			start[p.ProducerID] = map[string]map[int32]int64{}
		}
		if start[p.ProducerID][p.Topic] == nil {
			start[p.ProducerID][p.Topic] = map[int32]int64{}
		}
		start[p.ProducerID][p.Topic][p.Partition] = p.CurrentTxnStartOffset
	})
	for i := range ds {
		for j := range ds[i].Partitions {
			p := &ds[i].Partitions[j]
			if off, ok := start[ds[i].ProducerID][p.Topic][p.Partition]; ok {
				p.StartOffset = off
			}
		}
	}
}
