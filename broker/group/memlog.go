package group

import (
	"fmt"
	"sync"
)

// MemLog is an in-memory Log: each partition a list of batches. It lets the
// coordinator be tested, and embedded in tools, without disk or a broker. Fail, when
// set, is returned by Append instead of writing (fault injection).
type MemLog struct {
	mu      sync.Mutex
	batches map[int32][][]byte
	fail    error
}

// NewMemLog returns an empty MemLog.
func NewMemLog() *MemLog { return &MemLog{batches: map[int32][][]byte{}} }

// Append stores a copy of batch.
func (m *MemLog) Append(partition int32, batch []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return fmt.Errorf("memlog partition %d: %w", partition, m.fail)
	}
	m.batches[partition] = append(m.batches[partition], append([]byte(nil), batch...))
	return nil
}

// Replay calls fn with every stored batch of partition, oldest first.
func (m *MemLog) Replay(partition int32, fn func(batch []byte) error) error {
	m.mu.Lock()
	bs := append([][]byte(nil), m.batches[partition]...)
	m.mu.Unlock()
	for _, b := range bs {
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// SetFail makes every later Append fail with err (nil restores writes).
func (m *MemLog) SetFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// Batches returns how many batches partition holds.
func (m *MemLog) Batches(partition int32) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.batches[partition])
}
