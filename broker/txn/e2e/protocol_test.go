package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/tributary-io/tributary/broker/txn"
)

// TestTransactionProtocolAnswers checks the answers of the transaction APIs
// that clients rarely provoke: refused partitions, version-dependent fencing
// codes, bad filters and ids, control batches from a client, unstable offsets.
func TestTransactionProtocolAnswers(t *testing.T) {
	n := startNode(t, nil)
	createTopics(t, n.addr(), 2, "proto")
	cl := newClient(t, n.addr())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	request := func(t *testing.T, cl *kgo.Client, req kmsg.Request) kmsg.Response {
		t.Helper()
		resp, err := cl.Request(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
		}
		return resp
	}
	code := func(c int16) error { return kerr.ErrorForCode(c) }

	initTxn := func(t *testing.T, id string, timeout int32) *kmsg.InitProducerIDResponse {
		t.Helper()
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.TransactionTimeoutMillis = &id, timeout
		return request(t, cl, req).(*kmsg.InitProducerIDResponse)
	}
	init := initTxn(t, "proto-tx", 60_000)
	if init.ErrorCode != 0 || init.ProducerID < 0 || init.ProducerEpoch != 0 {
		t.Fatalf("InitProducerId: %+v", init)
	}

	t.Run("InitProducerId refuses bad ids and timeouts", func(t *testing.T) {
		// An empty id has no coordinator: FindCoordinator refuses it.
		empty := ""
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.TransactionTimeoutMillis = &empty, 1000
		if _, err := cl.Request(ctx, req); !errors.Is(err, kerr.InvalidRequest) {
			t.Fatalf("empty transactional id: %v", err)
		}
		if r := initTxn(t, "proto-long", int32((time.Hour).Milliseconds())); r.ErrorCode != kerr.InvalidTransactionTimeout.Code {
			t.Fatalf("one-hour timeout: %v", code(r.ErrorCode))
		}
		req = kmsg.NewPtrInitProducerIDRequest() // idempotent: a new id each time
		a := request(t, cl, req).(*kmsg.InitProducerIDResponse)
		b := request(t, cl, req).(*kmsg.InitProducerIDResponse)
		if a.ErrorCode != 0 || b.ErrorCode != 0 || a.ProducerID == b.ProducerID || a.ProducerEpoch != 0 {
			t.Fatalf("idempotent producer ids: %+v %+v", a, b)
		}
	})

	t.Run("AddPartitionsToTxn with a missing partition attempts none", func(t *testing.T) {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = "proto-tx", init.ProducerID, init.ProducerEpoch
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = "proto", []int32{0, 7}
		req.Topics = append(req.Topics, rt)
		resp := request(t, cl, req).(*kmsg.AddPartitionsToTxnResponse)
		got := map[int32]int16{}
		for _, p := range resp.Topics[0].Partitions {
			got[p.Partition] = p.ErrorCode
		}
		if got[0] != kerr.OperationNotAttempted.Code || got[7] != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("partition codes %v", got)
		}
		desc := kmsg.NewPtrDescribeTransactionsRequest()
		desc.TransactionalIDs = []string{"proto-tx", "nobody"}
		d := request(t, cl, desc).(*kmsg.DescribeTransactionsResponse)
		if d.TransactionStates[0].State != "Empty" || d.TransactionStates[1].ErrorCode != kerr.TransactionalIDNotFound.Code {
			t.Fatalf("describe: %+v", d.TransactionStates)
		}
	})

	t.Run("fencing code depends on the version", func(t *testing.T) {
		fenced := initTxn(t, "proto-fenced", 60_000)
		if r := initTxn(t, "proto-fenced", 60_000); r.ProducerEpoch != fenced.ProducerEpoch+1 {
			t.Fatalf("second init epoch %d", r.ProducerEpoch)
		}
		end := func(version int16) int16 {
			v := kversion.Stable()
			v.SetMaxKeyVersion(26, version)
			old := newClient(t, n.addr(), kgo.MaxVersions(v))
			req := kmsg.NewPtrEndTxnRequest()
			req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = "proto-fenced", fenced.ProducerID, fenced.ProducerEpoch, true
			return request(t, old, req).(*kmsg.EndTxnResponse).ErrorCode
		}
		if c := end(1); c != kerr.InvalidProducerEpoch.Code {
			t.Fatalf("EndTxn v1 by a fenced producer: %v", code(c))
		}
		if c := end(3); c != kerr.ProducerFenced.Code {
			t.Fatalf("EndTxn v3 by a fenced producer: %v", code(c))
		}
	})

	t.Run("ListTransactions filters", func(t *testing.T) {
		req := kmsg.NewPtrListTransactionsRequest()
		req.StateFilters = []string{"Sleeping"}
		resp := request(t, cl, req).(*kmsg.ListTransactionsResponse)
		if len(resp.UnknownStateFilters) != 1 || len(resp.TransactionStates) != 0 {
			t.Fatalf("unknown state filter: %+v", resp)
		}
		req = kmsg.NewPtrListTransactionsRequest()
		bad := "proto-("
		req.TransactionalIDPattern = &bad
		if resp := request(t, cl, req).(*kmsg.ListTransactionsResponse); resp.ErrorCode != kerr.InvalidRegularExpression.Code {
			t.Fatalf("bad pattern: %v", code(resp.ErrorCode))
		}
		pattern := "^proto-f"
		req.TransactionalIDPattern = &pattern
		resp = request(t, cl, req).(*kmsg.ListTransactionsResponse)
		if len(resp.TransactionStates) != 1 || resp.TransactionStates[0].TransactionalID != "proto-fenced" {
			t.Fatalf("pattern: %+v", resp.TransactionStates)
		}
	})

	t.Run("FindCoordinator for transactional ids", func(t *testing.T) {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType = 1
		req.CoordinatorKeys = []string{"proto-tx", ""}
		resp := request(t, cl, req).(*kmsg.FindCoordinatorResponse)
		byKey := map[string]kmsg.FindCoordinatorResponseCoordinator{}
		for _, c := range resp.Coordinators { // the client may reorder keys
			byKey[c.Key] = c
		}
		if c := byKey["proto-tx"]; c.ErrorCode != 0 || c.NodeID != 1 {
			t.Fatalf("coordinator of proto-tx: %+v", c)
		}
		if c := byKey[""]; c.ErrorCode != kerr.InvalidRequest.Code {
			t.Fatalf("coordinator of an empty id: %v", code(c.ErrorCode))
		}
	})

	t.Run("clients cannot write markers", func(t *testing.T) {
		marker, err := txn.MarkerBatch(txn.Marker{ProducerID: init.ProducerID, ProducerEpoch: 0, Commit: true}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "proto"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = marker
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		v := kversion.Stable()
		v.SetMaxKeyVersion(0, 12) // name the topic, not its id
		resp := request(t, newClient(t, n.addr(), kgo.MaxVersions(v)), req).(*kmsg.ProduceResponse)
		if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.InvalidRecord.Code {
			t.Fatalf("produce of a marker: %v", code(c))
		}
	})

	t.Run("require_stable sees pending transactional offsets", func(t *testing.T) {
		// A transactional producer commits offsets for a group, and does not end.
		prod := txnProducer(t, n.addr(), "proto-offsets")
		if err := prod.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := prod.ProduceSync(ctx, rec("proto", 0, "x")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		add := kmsg.NewPtrAddOffsetsToTxnRequest()
		id, epoch := producerOf(t, cl, ctx, "proto-offsets")
		add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "proto-offsets", id, epoch, "proto-group"
		if r := request(t, cl, add).(*kmsg.AddOffsetsToTxnResponse); r.ErrorCode != 0 {
			t.Fatalf("AddOffsetsToTxn: %v", code(r.ErrorCode))
		}
		commit := kmsg.NewPtrTxnOffsetCommitRequest()
		commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch = "proto-offsets", "proto-group", id, epoch
		ct := kmsg.NewTxnOffsetCommitRequestTopic()
		ct.Topic = "proto"
		cp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		cp.Partition, cp.Offset = 0, 42
		ct.Partitions = append(ct.Partitions, cp)
		commit.Topics = append(commit.Topics, ct)
		if r := request(t, cl, commit).(*kmsg.TxnOffsetCommitResponse); r.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("TxnOffsetCommit: %v", code(r.Topics[0].Partitions[0].ErrorCode))
		}
		fetch := func(stable bool) (int64, int16) {
			req := kmsg.NewPtrOffsetFetchRequest()
			req.RequireStable = stable
			g := kmsg.NewOffsetFetchRequestGroup()
			g.Group = "proto-group"
			gt := kmsg.NewOffsetFetchRequestGroupTopic()
			gt.Topic, gt.Partitions = "proto", []int32{0}
			g.Topics = append(g.Topics, gt)
			req.Groups = append(req.Groups, g)
			p := request(t, cl, req).(*kmsg.OffsetFetchResponse).Groups[0].Topics[0].Partitions[0]
			return p.Offset, p.ErrorCode
		}
		if off, c := fetch(true); c != kerr.UnstableOffsetCommit.Code || off != -1 {
			t.Fatalf("require_stable fetch during the transaction: %d %v", off, code(c))
		}
		if off, c := fetch(false); c != 0 || off != -1 {
			t.Fatalf("plain fetch during the transaction: %d %v", off, code(c))
		}
		if err := prod.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
		if off, c := fetch(true); c != 0 || off != 42 {
			t.Fatalf("require_stable fetch after the commit: %d %v", off, code(c))
		}
	})
}

// producerOf returns the producer id and epoch of a transactional id.
func producerOf(t *testing.T, cl *kgo.Client, ctx context.Context, id string) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{id}
	resp, err := cl.Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	st := resp.(*kmsg.DescribeTransactionsResponse).TransactionStates[0]
	return st.ProducerID, st.ProducerEpoch
}
