package streams

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestPartitionForMatchesKafka compares the key partitioner with franz-go's
// Kafka-compatible one (murmur2), so keys land where other clients put them.
func TestPartitionForMatchesKafka(t *testing.T) {
	ref := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	for _, n := range []int{1, 3, 4, 16, 100} {
		for i := range 500 {
			key := []byte(fmt.Sprintf("key-%d-%s", i, string(make([]byte, i%7))))
			want := ref.Partition(&kgo.Record{Key: key}, n)
			if got := partitionFor(key, int32(n)); int(got) != want {
				t.Fatalf("key %q over %d partitions: %d, want %d", key, n, got, want)
			}
		}
	}
}
