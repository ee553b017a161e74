package log

import "time"

// STUBS: the log helper replaces this file. Signatures are the contract; more
// exported methods may be added, none of these removed or changed.

// Log is one partition's log in one folder.
type Log struct{}

// Open opens (creating if needed) the log in dir and recovers it: missing or
// damaged index files are rebuilt, and the tail of the last segment after the last
// whole CRC-valid batch is truncated.
func Open(dir string, cfg Config, opts ...Option) (*Log, error) { panic("unimplemented") }

// Append validates one or more concatenated batches (magic, length, CRC-32C, record
// count, max.message.bytes per batch), assigns consecutive offsets by patching
// baseOffset, stamps leaderEpoch into partitionLeaderEpoch, applies LogAppendTime
// when configured, writes them, rolls segments by segment.bytes/segment.ms and
// applies flush.messages. Nothing is written if any batch is invalid. The input
// slice is modified in place.
func (l *Log) Append(batches []byte, leaderEpoch int32) (AppendInfo, error) { panic("unimplemented") }

// Read returns whole batches starting with the one that contains offset, up to
// maxBytes, and never a batch whose last offset is >= upTo (the high watermark or
// last stable offset). When the first batch alone exceeds maxBytes it is returned
// anyway if minOne is true (Kafka's KIP-74 rule), else nothing. offset == EndOffset()
// returns an empty result; offset outside [StartOffset, EndOffset] returns an
// *OutOfRangeError.
func (l *Log) Read(offset int64, maxBytes int64, upTo int64, minOne bool) (ReadResult, error) {
	panic("unimplemented")
}

// StartOffset is the log start offset (the earliest readable offset).
func (l *Log) StartOffset() int64 { panic("unimplemented") }

// EndOffset is the log end offset: the offset the next record will get.
func (l *Log) EndOffset() int64 { panic("unimplemented") }

// OffsetForTimestamp returns the offset and timestamp of the first batch whose max
// timestamp is >= ts (ListOffsets by time); ok is false when none is.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, timestamp int64, ok bool, err error) {
	panic("unimplemented")
}

// MaxTimestamp returns the largest timestamp in the log and the offset of the batch
// holding it (ListOffsets -3, KIP-734); ok is false for an empty log.
func (l *Log) MaxTimestamp() (timestamp int64, offset int64, ok bool) { panic("unimplemented") }

// Truncate removes every record at or after offset (a follower diverging from its leader).
// Truncating into the middle of a batch removes the whole batch.
func (l *Log) Truncate(offset int64) error { panic("unimplemented") }

// AdvanceStartOffset moves the log start offset forward (DeleteRecords) and deletes
// segments wholly below it. Offsets below the new start become unreadable at once.
func (l *Log) AdvanceStartOffset(offset int64) error { panic("unimplemented") }

// ApplyRetention deletes whole non-active segments past retention.ms / retention.bytes.
func (l *Log) ApplyRetention() (CleanStats, error) { panic("unimplemented") }

// Compact runs one compaction pass when cleanup.policy includes compact. It runs
// concurrently with Append and Read and swaps rewritten segments atomically.
func (l *Log) Compact() (CleanStats, error) { panic("unimplemented") }

// SetConfig changes the log's config at run time (AlterConfigs).
func (l *Log) SetConfig(cfg Config) error { panic("unimplemented") }

// Config returns the current config.
func (l *Log) Config() Config { panic("unimplemented") }

// Sync fsyncs the active segment and its indexes.
func (l *Log) Sync() error { panic("unimplemented") }

// Size is the total bytes of all segments.
func (l *Log) Size() int64 { panic("unimplemented") }

// NumSegments is the number of segments.
func (l *Log) NumSegments() int { panic("unimplemented") }

// Dir is the log's folder.
func (l *Log) Dir() string { panic("unimplemented") }

// Close flushes and closes the log.
func (l *Log) Close() error { panic("unimplemented") }

// Delete closes the log and removes its folder.
func (l *Log) Delete() error { panic("unimplemented") }

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String is the folder name: <topic>-<partition>.
func (tp TopicPartition) String() string { panic("unimplemented") }

// Manager owns every partition log under one data dir and the background goroutine
// that applies retention, compaction and flush.ms to them.
type Manager struct{}

// NewManager creates the data dir if needed and scans it for partition folders.
// Logs are opened by GetOrCreate, with the config the caller's metadata holds.
func NewManager(dataDir string, opts ...Option) (*Manager, error) { panic("unimplemented") }

// Start starts the background cleaner; it runs every interval until Close.
func (m *Manager) Start(interval time.Duration) { panic("unimplemented") }

// Get returns an open log.
func (m *Manager) Get(tp TopicPartition) (*Log, bool) { panic("unimplemented") }

// GetOrCreate opens or creates the log of tp with cfg.
func (m *Manager) GetOrCreate(tp TopicPartition, cfg Config) (*Log, error) { panic("unimplemented") }

// Partitions lists the partitions found on disk or created, open or not.
func (m *Manager) Partitions() []TopicPartition { panic("unimplemented") }

// Remove deletes a partition's log and folder.
func (m *Manager) Remove(tp TopicPartition) error { panic("unimplemented") }

// Close stops the cleaner, waits for it, and closes every log.
func (m *Manager) Close() error { panic("unimplemented") }
