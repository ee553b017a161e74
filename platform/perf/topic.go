package perf

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnsureTopic creates topic with the given partitions and replication factor 1
// unless it exists already (whatever its partition count).
func EnsureTopic(ctx context.Context, brokers []string, topic string, partitions int32, opts ...kgo.Opt) error {
	return EnsureTopicRF(ctx, brokers, topic, partitions, 1, opts...)
}

// EnsureTopicRF is EnsureTopic with a replication factor.
func EnsureTopicRF(ctx context.Context, brokers []string, topic string, partitions int32, rf int16, opts ...kgo.Opt) error {
	return EnsureTopicConfig(ctx, brokers, topic, partitions, rf, nil, opts...)
}

// EnsureTopicConfig is EnsureTopicRF with topic configs (for example
// min.insync.replicas) for a topic it creates.
func EnsureTopicConfig(ctx context.Context, brokers []string, topic string, partitions int32, rf int16, configs map[string]string, opts ...kgo.Opt) error {
	var cfg map[string]*string
	if len(configs) > 0 {
		cfg = make(map[string]*string, len(configs))
		for k, v := range configs {
			cfg[k] = &v
		}
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID("tributary-perf")}, opts...)...)
	if err != nil {
		return fmt.Errorf("create admin client for %v: %w", brokers, err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, rf, cfg, topic)
	// kadm returns the topic's own error as err too.
	if err = errors.Join(err, resp.Err); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}

// partitionCount returns how many partitions topic has.
func partitionCount(ctx context.Context, cl *kgo.Client, topic string) (int32, error) {
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	t, ok := md.Topics[topic]
	if !ok || t.Err != nil {
		return 0, fmt.Errorf("metadata of %s: %w", topic, errors.Join(t.Err, errors.New("topic not found")))
	}
	return int32(len(t.Partitions)), nil
}

// endOffsets returns the high watermark of every partition of topic.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	lo, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	out := make(map[int32]int64)
	var errs []error
	lo.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("end offset of %s/%d: %w", topic, o.Partition, o.Err))
			return
		}
		out[o.Partition] = o.Offset
	})
	return out, errors.Join(errs...)
}
