package auth

import (
	"fmt"
	"strings"
)

// Principal is an authenticated identity, written "Type:Name" as in Kafka
// ("User:alice"). ACLs name principals in the same form.
type Principal struct {
	Type string
	Name string
}

// PrincipalTypeUser is the type of every principal the broker creates.
const PrincipalTypeUser = "User"

// Anonymous is the principal of a connection that did not authenticate
// (PLAINTEXT listeners, SSL without a client certificate).
var Anonymous = Principal{Type: PrincipalTypeUser, Name: "ANONYMOUS"}

// User returns the principal "User:name".
func User(name string) Principal { return Principal{Type: PrincipalTypeUser, Name: name} }

// String is the Kafka form "Type:Name".
func (p Principal) String() string { return p.Type + ":" + p.Name }

// ParsePrincipal parses "Type:Name" ("User:*" is the wildcard principal of ACLs).
func ParsePrincipal(s string) (Principal, error) {
	typ, name, ok := strings.Cut(s, ":")
	if !ok || typ == "" || name == "" {
		return Principal{}, fmt.Errorf("%w: principal %q is not Type:Name", ErrInvalidACL, s)
	}
	return Principal{Type: typ, Name: name}, nil
}
