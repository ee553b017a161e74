package examples

import (
	"strings"

	"github.com/tributary-io/tributary/streams"
)

// WordCountStore is the store holding the counts, for interactive queries.
const WordCountStore = "word-counts"

// WordCount splits the lines of input (string values) into lower-case
// words, counts each word (repartitioning by word) and writes every updated
// count to output: key the word, value an int64 (8 bytes, big-endian).
func WordCount(b *streams.Builder, input, output string) *streams.Table[string, int64] {
	lines := streams.FromTopic(b, streams.String(), streams.String(), input)
	words := streams.FlatMap(lines, func(_ string, line string) []streams.KeyValue[string, string] {
		fields := strings.Fields(strings.ToLower(line))
		out := make([]streams.KeyValue[string, string], len(fields))
		for i, w := range fields {
			out[i] = streams.KV(w, w)
		}
		return out
	})
	grouped := streams.GroupBy(words, "words", func(w, _ string) string { return w }, streams.String(), streams.String())
	counts := streams.Count(grouped, WordCountStore)
	counts.ToStream().To(output, streams.String(), streams.Int64())
	return counts
}
