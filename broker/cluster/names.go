package cluster

import (
	"fmt"
	"strings"
)

// MaxTopicNameLen is Kafka's limit on topic names. It leaves room in a 255-byte
// file name for the "-<partition>" suffix of partition folders.
const MaxTopicNameLen = 249

// ValidateTopicName checks a name as Kafka does: 1..249 chars of [a-zA-Z0-9._-],
// not "." or "..". Errors wrap ErrInvalidTopic.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the name is empty", ErrInvalidTopic)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q is not allowed", ErrInvalidTopic, name)
	case len(name) > MaxTopicNameLen:
		return fmt.Errorf("%w: name has %d characters, the limit is %d", ErrInvalidTopic, len(name), MaxTopicNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !legalTopicByte(name[i]) {
			return fmt.Errorf("%w: %q has %q at %d; only ASCII letters, digits, '.', '_' and '-' are allowed",
				ErrInvalidTopic, name, name[i], i)
		}
	}
	return nil
}

func legalTopicByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// IsInternalTopic reports whether name is reserved for the platform itself (it
// starts with "__", like __consumer_offsets). Clients cannot delete such topics.
func IsInternalTopic(name string) bool { return strings.HasPrefix(name, "__") }

// collisionKey is the name as metric names see it: Kafka refuses two topics that
// differ only in '.' versus '_' because their metrics would share one name.
func collisionKey(name string) string { return strings.ReplaceAll(name, ".", "_") }
