package cluster

import (
	"encoding/base64"
	"fmt"
	"io"
)

// String prints the id as Kafka does: URL-safe base64 without padding (22 characters).
func (u UUID) String() string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// IsZero reports whether u is the all-zero id, which Kafka uses for "no topic id".
func (u UUID) IsZero() bool { return u == UUID{} }

// MarshalText writes the Kafka form, so ids in JSON files read like ids in Kafka tools.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText parses the Kafka form written by MarshalText.
func (u *UUID) UnmarshalText(b []byte) error {
	id, err := ParseUUID(string(b))
	if err != nil {
		return err
	}
	*u = id
	return nil
}

// ParseUUID parses a topic id in Kafka's form (22 characters of URL-safe base64).
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 22 {
		return u, fmt.Errorf("topic id %q: want 22 base64 characters, have %d", s, len(s))
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != len(u) {
		return u, fmt.Errorf("topic id %q: not URL-safe base64 of 16 bytes", s)
	}
	copy(u[:], b)
	return u, nil
}

// newTopicID draws a random id from r, skipping what Kafka never hands out: the
// zero id, the id reserved for the metadata topic (all zero but the last bit), and
// ids whose printed form starts with '-', which command-line tools read as a flag.
func newTopicID(r io.Reader) (UUID, error) {
	reserved := UUID{15: 1}
	for range 100 {
		var u UUID
		if _, err := io.ReadFull(r, u[:]); err != nil {
			return UUID{}, fmt.Errorf("draw topic id: %w", err)
		}
		// Mark it as a version 4 (random) UUID, as Kafka's ids are.
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		if u.IsZero() || u == reserved || u.String()[0] == '-' {
			continue
		}
		return u, nil
	}
	return UUID{}, fmt.Errorf("draw topic id: random source keeps producing reserved ids")
}
