package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/connect"
)

// internalTopics are the worker runtime's topics, all compacted. Configs
// has one partition so every spec has one order, as in Kafka Connect.
var internalTopics = []struct {
	name       string
	partitions int32
}{
	{ConfigsTopic, 1},
	{StatusTopic, 1},
	{connect.OffsetsTopic, 1},
}

// replicasWait bounds how long EnsureTopics waits for the brokers the
// cluster is meant to have before it creates with those it has.
const replicasWait = 15 * time.Second

// EnsureTopics creates the internal topics that do not exist yet, compacted,
// with three replicas, or one per broker on a smaller cluster, as Kafka
// replicates __consumer_offsets: a node's death must not take the specs of
// every connector and pipeline with it. clusterSize is how many brokers the
// cluster is meant to have; EnsureTopics waits up to replicasWait for
// min(3, clusterSize) of them to register (nodes started together register
// one by one), then settles for those registered. Zero does not wait.
func EnsureTopics(ctx context.Context, cl *kgo.Client, clusterSize int) error {
	adm := kadm.NewClient(cl)
	rf, err := replicationFactor(ctx, adm, clusterSize)
	if err != nil {
		return err
	}
	compact := "compact"
	for _, t := range internalTopics {
		resp, err := adm.CreateTopic(ctx, t.partitions, rf, map[string]*string{"cleanup.policy": &compact}, t.name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t.name, err)
		}
	}
	return nil
}

// replicationFactor is min(3, registered brokers), after waiting (bounded)
// for min(3, clusterSize) brokers to register.
func replicationFactor(ctx context.Context, adm *kadm.Client, clusterSize int) (int16, error) {
	want := min(3, clusterSize)
	deadline := time.Now().Add(replicasWait)
	for {
		md, err := adm.BrokerMetadata(ctx)
		if err != nil {
			return 0, fmt.Errorf("internal topics: list brokers: %w", err)
		}
		have := len(md.Brokers)
		if have >= want || time.Now().After(deadline) {
			return int16(min(3, max(have, 1))), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
