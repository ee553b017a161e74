package connect

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/sdk"
)

// positionValue is a source position as stored in __tributary_offsets,
// keyed by the task id. JSON keeps the topic readable with any Kafka tool;
// the position itself is opaque (base64 in JSON).
type positionValue struct {
	Position []byte `json:"position"`
}

// positionRecord is the record that stores pos as task id's position.
func positionRecord(id string, pos sdk.Position) *kgo.Record {
	v, _ := json.Marshal(positionValue{Position: pos}) // cannot fail for []byte
	return &kgo.Record{Topic: OffsetsTopic, Key: []byte(id), Value: v}
}

// ReadPosition returns the last committed position of the task id in the
// offsets topic, or nil when there is none. It reads the topic with
// read_committed up to its last stable offsets, so it must run after the
// task's transactional producer has fenced any predecessor (whose open
// transaction would otherwise hold the stable offset back).
func ReadPosition(ctx context.Context, seeds []string, opts []kgo.Opt, id string) (sdk.Position, error) {
	admin, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("offsets client: %w", err)
	}
	defer admin.Close()
	ends, err := kadm.NewClient(admin).ListCommittedOffsets(ctx, OffsetsTopic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", OffsetsTopic, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", OffsetsTopic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil, nil
	}
	parts := map[int32]kgo.Offset{}
	for p := range want {
		parts[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{OffsetsTopic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records are kept so the reader sees it reached the stable
		// offset when the last thing before it is a commit marker.
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(200 * time.Millisecond)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("offsets consumer: %w", err)
	}
	defer cl.Close()
	var pos sdk.Position
	found := false
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", OffsetsTopic, err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("read %s[%d]: %w", t, p, err) })
		if ferr != nil {
			return nil, ferr
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				if !r.Attrs.IsControl() && string(r.Key) == id {
					found = r.Value != nil
					pos = nil
					if found {
						var v positionValue
						if err := json.Unmarshal(r.Value, &v); err == nil {
							pos = v.Position
						}
					}
				}
			}
			if n := len(p.Records); n > 0 && p.Records[n-1].Offset+1 >= want[p.Partition] {
				delete(want, p.Partition)
			}
		})
	}
	if !found {
		return nil, nil
	}
	return pos, nil
}
