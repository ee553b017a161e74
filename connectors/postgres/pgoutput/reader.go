package pgoutput

import (
	"encoding/binary"
	"fmt"
	"time"
)

// reader consumes a message body. The first failure sticks: later reads
// return zero values and err says what was short or malformed, so parsers
// read every field and check err once.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(what string, n int) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: need %d bytes at offset %d, have %d", what, n, r.off, len(r.b)-r.off)
	}
}

func (r *reader) take(what string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.fail(what, n)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8(what string) uint8 {
	if s := r.take(what, 1); s != nil {
		return s[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if s := r.take(what, 2); s != nil {
		return binary.BigEndian.Uint16(s)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if s := r.take(what, 4); s != nil {
		return binary.BigEndian.Uint32(s)
	}
	return 0
}

func (r *reader) u64(what string) uint64 {
	if s := r.take(what, 8); s != nil {
		return binary.BigEndian.Uint64(s)
	}
	return 0
}

func (r *reader) lsn(what string) LSN { return LSN(r.u64(what)) }

func (r *reader) time(what string) time.Time { return PGTime(int64(r.u64(what))) }

// cstring reads a NUL-terminated string.
func (r *reader) cstring(what string) string {
	if r.err != nil {
		return ""
	}
	for i := r.off; i < len(r.b); i++ {
		if r.b[i] == 0 {
			s := string(r.b[r.off:i])
			r.off = i + 1
			return s
		}
	}
	r.err = fmt.Errorf("%s: string at offset %d has no terminating NUL", what, r.off)
	return ""
}

// done checks that the whole body was consumed.
func (r *reader) done(what string) error {
	if r.err == nil && r.off != len(r.b) {
		r.err = fmt.Errorf("%s: %d trailing bytes", what, len(r.b)-r.off)
	}
	return r.err
}

// pgEpochMicros is PostgreSQL's timestamp epoch, 2000-01-01 UTC, in Unix
// microseconds: timestamps on the wire count microseconds from it.
const pgEpochMicros = 946_684_800_000_000

// PGTime converts microseconds since the PostgreSQL epoch to a time.
func PGTime(us int64) time.Time { return time.UnixMicro(us + pgEpochMicros).UTC() }

// PGMicros converts a time to microseconds since the PostgreSQL epoch.
func PGMicros(t time.Time) int64 { return t.UnixMicro() - pgEpochMicros }
