package deploy

import (
	"context"
	"errors"
	"fmt"

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

// EnsureTopics creates the internal topics that do not exist yet, compacted,
// with the broker's default replication factor.
func EnsureTopics(ctx context.Context, cl *kgo.Client) error {
	adm := kadm.NewClient(cl)
	compact := "compact"
	for _, t := range internalTopics {
		resp, err := adm.CreateTopic(ctx, t.partitions, -1, map[string]*string{"cleanup.policy": &compact}, t.name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t.name, err)
		}
	}
	return nil
}
