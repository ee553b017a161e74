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

	"github.com/tributary-io/tributary/broker/record"
)

// rawClient sends single producer and transaction requests, so a test can
// script a client's sequence numbers, epochs and recovery exactly.
type rawClient struct {
	t  *testing.T
	cl *kgo.Client
}

func newRawClient(t *testing.T, addr string) *rawClient {
	v := kversion.Stable()
	v.SetMaxKeyVersion(0, 12) // Produce: name the topic, not its id
	v.SetMaxKeyVersion(24, 3) // AddPartitionsToTxn: the client form (v4+ is broker-to-broker)
	v.SetMaxKeyVersion(26, 4) // EndTxn: transaction version 1
	return &rawClient{t: t, cl: newClient(t, addr, kgo.MaxVersions(v))}
}

func (c *rawClient) request(ctx context.Context, req kmsg.Request) kmsg.Response {
	c.t.Helper()
	resp, err := c.cl.Request(ctx, req)
	if err != nil {
		c.t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

// produce writes one record at sequence seq for producer pid/epoch to topic/0
// (transactional when txnID is set) and returns the partition's error.
func (c *rawClient) produce(ctx context.Context, topic, txnID string, pid int64, epoch int16, seq int32, value string) error {
	c.t.Helper()
	var attrs int16
	req := kmsg.NewPtrProduceRequest()
	if txnID != "" {
		attrs = record.AttrTransactional
		req.TransactionID = &txnID
	}
	batch, err := record.Build(record.BatchSpec{
		Attributes:    attrs,
		BaseTimestamp: time.Now().UnixMilli(),
		ProducerID:    pid,
		ProducerEpoch: epoch,
		BaseSequence:  seq,
	}, []record.Record{{Value: []byte(value)}})
	if err != nil {
		c.t.Fatal(err)
	}
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return kerr.ErrorForCode(c.request(ctx, req).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode)
}

func (c *rawClient) initProducerID(ctx context.Context, txnID string, pid int64, epoch int16) (int64, int16, error) {
	c.t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID, req.TransactionTimeoutMillis = &txnID, 60_000
	req.ProducerID, req.ProducerEpoch = pid, epoch
	resp := c.request(ctx, req).(*kmsg.InitProducerIDResponse)
	return resp.ProducerID, resp.ProducerEpoch, kerr.ErrorForCode(resp.ErrorCode)
}

func (c *rawClient) addPartition(ctx context.Context, txnID, topic string, pid int64, epoch int16) error {
	c.t.Helper()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = txnID, pid, epoch
	rt := kmsg.NewAddPartitionsToTxnRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0}
	req.Topics = append(req.Topics, rt)
	resp := c.request(ctx, req).(*kmsg.AddPartitionsToTxnResponse)
	return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

func (c *rawClient) endTxn(ctx context.Context, txnID string, pid int64, epoch int16, commit bool) error {
	c.t.Helper()
	req := kmsg.NewPtrEndTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = txnID, pid, epoch, commit
	// The markers of the previous end may still be in flight.
	for {
		err := kerr.ErrorForCode(c.request(ctx, req).(*kmsg.EndTxnResponse).ErrorCode)
		if !errors.Is(err, kerr.ConcurrentTransactions) || ctx.Err() != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
