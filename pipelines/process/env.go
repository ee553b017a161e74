package process

import (
	"errors"
	"fmt"
	"time"
)

// Env is what an expression sees of a record. Its fields are the names
// expressions use; their Go types are what expressions are type-checked
// against at compile time.
type Env struct {
	// Key is the record's key as text; "" when it has none.
	Key string `expr:"key"`
	// Value is the decoded value (see Message.Value).
	Value any `expr:"value"`
	// Headers holds the last value of each header, as text.
	Headers map[string]string `expr:"headers"`
	// Timestamp is the record's timestamp.
	Timestamp time.Time `expr:"timestamp"`
	// Topic, Partition and Offset say where the record was read.
	Topic     string `expr:"topic"`
	Partition int    `expr:"partition"`
	Offset    int    `expr:"offset"`

	budget *budget `expr:"-"`
}

// The parts of Env an expression uses, found at compile time, so a run fills
// only those.
const (
	useKey uint8 = 1 << iota
	useValue
	useHeaders
	useTimestamp
	useWhere // topic, partition, offset
	useAll   = useKey | useValue | useHeaders | useTimestamp | useWhere
)

var envNames = map[string]uint8{
	"key": useKey, "value": useValue, "headers": useHeaders, "timestamp": useTimestamp,
	"topic": useWhere, "partition": useWhere, "offset": useWhere, "$env": useAll,
}

// fill sets the parts of e that uses asks for from m. The headers map is
// rebuilt only when the message changed since it was last built.
func (e *Env) fill(m *Message, uses uint8, cache *headerCache) {
	if uses&useKey != 0 {
		e.Key = string(m.Key)
	}
	if uses&useValue != 0 {
		e.Value = m.Value()
	}
	if uses&useHeaders != 0 {
		e.Headers = cache.get(m)
	}
	if uses&useTimestamp != 0 {
		e.Timestamp = m.Timestamp
	}
	if uses&useWhere != 0 {
		e.Topic, e.Partition, e.Offset = m.Topic, int(m.Partition), int(m.Offset)
	}
}

// headerCache keeps the headers map of the message last asked for.
type headerCache struct {
	m   *Message
	gen uint64
	hdr map[string]string
}

func (c *headerCache) get(m *Message) map[string]string {
	if c.m == m && c.gen == m.gen && c.hdr != nil {
		return c.hdr
	}
	// A new map each time: an expression may have kept the old one inside
	// a value it returned.
	c.hdr = make(map[string]string, len(m.Headers))
	for _, h := range m.Headers {
		c.hdr[h.Key] = string(h.Value)
	}
	c.m, c.gen = m, m.gen
	return c.hdr
}

// ErrTimeBudget is the error of a record whose processing took longer than
// the pipeline's limits.recordTimeout.
var ErrTimeBudget = errors.New("time budget exceeded")

// budget is the time one record may take. Loops inside expressions call
// check (the compiler patches a call into every predicate), so a runaway
// expression stops instead of holding the pipeline.
type budget struct {
	now      func() time.Time
	limit    time.Duration
	deadline time.Time
	calls    uint32
}

func (b *budget) start() {
	b.deadline = b.now().Add(b.limit)
	b.calls = 0
}

// tick is called on every loop iteration; it reads the clock every 64th.
func (b *budget) tick() error {
	b.calls++
	if b.calls%64 != 0 {
		return nil
	}
	return b.check()
}

func (b *budget) check() error {
	if b.now().After(b.deadline) {
		return fmt.Errorf("%w: the record took longer than %s", ErrTimeBudget, b.limit)
	}
	return nil
}
