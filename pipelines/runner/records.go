package runner

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/process"
)

// Headers added to a dead-lettered record, beside its own.
const (
	HeaderError     = "tributary.error"
	HeaderPipeline  = "tributary.pipeline"
	HeaderProcessor = "tributary.error.processor"
	HeaderTopic     = "tributary.source.topic"
	HeaderPartition = "tributary.source.partition"
	HeaderOffset    = "tributary.source.offset"
)

func toMessage(r *kgo.Record) *process.Message {
	m := process.NewMessage(r.Key, r.Value)
	m.Timestamp, m.Topic, m.Partition, m.Offset = r.Timestamp, r.Topic, r.Partition, r.Offset
	if len(r.Headers) > 0 {
		m.Headers = make([]process.Header, len(r.Headers))
		for i, h := range r.Headers {
			m.Headers[i] = process.Header{Key: h.Key, Value: h.Value}
		}
	}
	return m
}

// toRecord is m as a record for topic; value is m's encoded value. The
// timestamp is kept, as Kafka Streams does, so time-based processing
// downstream sees when things happened, not when the pipeline ran.
func toRecord(m *process.Message, topic string, value []byte) *kgo.Record {
	r := &kgo.Record{Topic: topic, Key: m.Key, Value: value, Timestamp: m.Timestamp}
	if len(m.Headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(m.Headers))
		for i, h := range m.Headers {
			r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	return r
}

// deadLetter is the input record r, unchanged, for the dead-letter topic,
// with the error and where the record came from in its headers.
func deadLetter(r *kgo.Record, topic, pipeline string, err error) *kgo.Record {
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+6)
	headers = append(headers, r.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderError, Value: []byte(err.Error())},
		kgo.RecordHeader{Key: HeaderPipeline, Value: []byte(pipeline)},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
	)
	var pe *process.Error
	if errors.As(err, &pe) {
		headers = append(headers, kgo.RecordHeader{Key: HeaderProcessor, Value: []byte(strconv.Itoa(pe.Index) + " " + pe.Type)})
	}
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: headers, Timestamp: r.Timestamp}
}

// isFatal reports a consume error that retrying cannot fix, such as a
// fenced static member (another process uses the same instance id).
func isFatal(err error) bool {
	var ke *kerr.Error
	return errors.As(err, &ke) && !ke.Retriable
}

// kgoLogger forwards franz-go's warnings and errors to slog; its info and
// debug lines are about connections and rebalances, too many to keep.
type kgoLogger struct{ log *slog.Logger }

// Level asks franz-go for warnings and errors only.
func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

// Log writes one franz-go line to slog.
func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := slog.LevelWarn
	if level == kgo.LogLevelError {
		lvl = slog.LevelError
	}
	l.log.Log(context.Background(), lvl, msg, keyvals...)
}
