package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/record"
)

// TestWriteTxnMarkersOnTheLeader sends WriteTxnMarkers, as another broker's
// transaction coordinator would, to a node holding an open transaction: a
// record in a data partition and a transactional offset commit. The commit
// marker ends the transaction in the data partition (the last stable offset
// moves past it and read_committed returns the record) and, through the group
// coordinator, applies the pending offset; unknown partitions are refused.
func TestWriteTxnMarkersOnTheLeader(t *testing.T) {
	const (
		topic, grp, txnID = "marked", "marked-group", "marked-txn"
		committedOffset   = 42
	)
	b, addr := startNode(t, t.TempDir())
	defer stopNode(t, b)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	created, err := adm.CreateTopic(ctx, 1, 1, nil, topic)
	if err != nil || created.Err != nil {
		t.Fatal(err, created.Err)
	}
	ok := func(what string, code int16) {
		t.Helper()
		if err := kerr.ErrorForCode(code); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// An open transaction: one record and one offset of grp.
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr(txnID), 60_000
	initResp, err := init.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	ok("init producer id", initResp.ErrorCode)
	pid, epoch := initResp.ProducerID, initResp.ProducerEpoch

	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch = txnID, pid, epoch
	at := kmsg.NewAddPartitionsToTxnRequestTopic()
	at.Topic, at.Partitions = topic, []int32{0}
	add.Topics = append(add.Topics, at)
	addResp, err := add.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	ok("add partitions", addResp.Topics[0].Partitions[0].ErrorCode)

	batch, err := record.Build(record.BatchSpec{Attributes: record.AttrTransactional, BaseTimestamp: time.Now().UnixMilli(),
		ProducerID: pid, ProducerEpoch: epoch, BaseSequence: 0}, []record.Record{{Value: []byte("in-txn")}})
	if err != nil {
		t.Fatal(err)
	}
	prod := kmsg.NewPtrProduceRequest()
	prod.TransactionID, prod.Acks, prod.TimeoutMillis = kmsg.StringPtr(txnID), -1, 10_000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic, pt.TopicID = topic, created.ID // v13 names topics by id
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Partition, pp.Records = 0, batch
	pt.Partitions = append(pt.Partitions, pp)
	prod.Topics = append(prod.Topics, pt)
	prodResp, err := prod.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	ok("produce", prodResp.Topics[0].Partitions[0].ErrorCode)

	addOffs := kmsg.NewPtrAddOffsetsToTxnRequest()
	addOffs.TransactionalID, addOffs.ProducerID, addOffs.ProducerEpoch, addOffs.Group = txnID, pid, epoch, grp
	addOffsResp, err := addOffs.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	ok("add offsets", addOffsResp.ErrorCode)
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch, commit.Generation = txnID, grp, pid, epoch, -1
	ct := kmsg.NewTxnOffsetCommitRequestTopic()
	ct.Topic = topic
	cp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	cp.Partition, cp.Offset, cp.LeaderEpoch = 0, committedOffset, -1
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	commitResp, err := commit.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	ok("txn offset commit", commitResp.Topics[0].Partitions[0].ErrorCode)

	stable := func() int64 {
		t.Helper()
		offs, err := adm.ListCommittedOffsets(ctx, topic)
		if err != nil || offs.Error() != nil {
			t.Fatalf("list offsets: %v %v", err, offs.Error())
		}
		o, _ := offs.Lookup(topic, 0)
		return o.Offset
	}
	if lso := stable(); lso != 0 {
		t.Fatalf("last stable offset %d with the transaction open, want 0", lso)
	}

	// The markers, as a coordinator on another node sends them (v1, flexible).
	offsetsPart := group.PartitionFor(grp, 50)
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.SetVersion(1)
	mk := kmsg.NewWriteTxnMarkersRequestMarker()
	mk.ProducerID, mk.ProducerEpoch, mk.Committed = pid, epoch, true
	for _, tp := range []struct {
		topic string
		parts []int32
	}{{topic, []int32{0, 5}}, {group.OffsetsTopic, []int32{offsetsPart}}, {"missing", []int32{0}}} {
		rt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
		rt.Topic, rt.Partitions = tp.topic, tp.parts
		mk.Topics = append(mk.Topics, rt)
	}
	req.Markers = append(req.Markers, mk)
	raw, err := cl.Broker(1).Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int16{}
	for _, m := range raw.(*kmsg.WriteTxnMarkersResponse).Markers {
		for _, rt := range m.Topics {
			for _, rp := range rt.Partitions {
				got[fmt.Sprintf("%s-%d", rt.Topic, rp.Partition)] = rp.ErrorCode
			}
		}
	}
	want := map[string]int16{
		topic + "-0": 0,
		topic + "-5": kerr.UnknownTopicOrPartition.Code,
		fmt.Sprintf("%s-%d", group.OffsetsTopic, offsetsPart): 0,
		"missing-0": kerr.UnknownTopicOrPartition.Code,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("marker answers %v, want %v", got, want)
	}

	// The data partition: the transaction ended (record, then the marker).
	if lso := stable(); lso != 2 {
		t.Errorf("last stable offset %d after the commit marker, want 2", lso)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	fs := cons.PollRecords(ctx, 10)
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "in-txn" {
		t.Errorf("read_committed after the marker: %v (errors %v)", recs, fs.Errors())
	}
	// The offsets partition: the pending offset applied.
	offs, err := adm.FetchOffsets(ctx, grp)
	if err != nil {
		t.Fatal(err)
	}
	if o, found := offs.Lookup(topic, 0); !found || o.Err != nil || o.At != committedOffset {
		t.Errorf("offset of %s after the commit marker: %+v (found %v), want %d", grp, o, found, committedOffset)
	}
}
