package auth

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ClusterResourceName is the one name of the cluster resource.
const ClusterResourceName = "kafka-cluster"

// WildcardName is the literal resource name, principal and host that match
// everything.
const WildcardName = "*"

// ACL is one access control entry bound to a resource pattern, as Kafka's
// CreateAcls carries it. The enums use Kafka's numbering (kmsg names them).
type ACL struct {
	ResourceType kmsg.ACLResourceType        `json:"resource_type"`
	ResourceName string                      `json:"resource_name"`
	PatternType  kmsg.ACLResourcePatternType `json:"pattern_type"`
	// Principal is "User:name" or "User:*".
	Principal string `json:"principal"`
	// Host is a client IP or "*".
	Host       string                 `json:"host"`
	Operation  kmsg.ACLOperation      `json:"operation"`
	Permission kmsg.ACLPermissionType `json:"permission"`
}

// String is a readable one-line form for logs and the CLI.
func (a ACL) String() string {
	return fmt.Sprintf("%s %s %s:%s(%s) from %s: %s", a.Permission, a.Principal, a.ResourceType, a.ResourceName,
		a.PatternType, a.Host, a.Operation)
}

// Validate checks a binding before it is stored (CreateAcls).
func (a ACL) Validate() error {
	switch a.ResourceType {
	case kmsg.ACLResourceTypeTopic, kmsg.ACLResourceTypeGroup, kmsg.ACLResourceTypeCluster, kmsg.ACLResourceTypeTransactionalId:
	default:
		return fmt.Errorf("%w: resource type %s is not supported", ErrInvalidACL, a.ResourceType)
	}
	if a.PatternType != kmsg.ACLResourcePatternTypeLiteral && a.PatternType != kmsg.ACLResourcePatternTypePrefixed {
		return fmt.Errorf("%w: pattern type %s (want LITERAL or PREFIXED)", ErrInvalidACL, a.PatternType)
	}
	if a.ResourceName == "" {
		return fmt.Errorf("%w: empty resource name", ErrInvalidACL)
	}
	if a.ResourceType == kmsg.ACLResourceTypeCluster && a.ResourceName != ClusterResourceName {
		return fmt.Errorf("%w: the cluster resource is named %q, not %q", ErrInvalidACL, ClusterResourceName, a.ResourceName)
	}
	if a.PatternType == kmsg.ACLResourcePatternTypePrefixed && a.ResourceName == WildcardName {
		return fmt.Errorf("%w: a prefixed pattern cannot be the wildcard", ErrInvalidACL)
	}
	if _, err := ParsePrincipal(a.Principal); err != nil {
		return err
	}
	if a.Host == "" {
		return fmt.Errorf("%w: empty host (use %q for any)", ErrInvalidACL, WildcardName)
	}
	if a.Operation <= kmsg.ACLOperationAny || a.Operation > kmsg.ACLOperationDescribeTokens {
		return fmt.Errorf("%w: operation %s", ErrInvalidACL, a.Operation)
	}
	if a.Permission != kmsg.ACLPermissionTypeAllow && a.Permission != kmsg.ACLPermissionTypeDeny {
		return fmt.Errorf("%w: permission %s (want ALLOW or DENY)", ErrInvalidACL, a.Permission)
	}
	return nil
}

// compareACL orders bindings for stable listings and binary search.
func compareACL(a, b ACL) int {
	return cmp.Or(
		cmp.Compare(a.ResourceType, b.ResourceType),
		cmp.Compare(a.PatternType, b.PatternType),
		strings.Compare(a.ResourceName, b.ResourceName),
		strings.Compare(a.Principal, b.Principal),
		strings.Compare(a.Host, b.Host),
		cmp.Compare(a.Operation, b.Operation),
		cmp.Compare(a.Permission, b.Permission),
	)
}

// ACLFilter selects bindings (DescribeAcls, DeleteAcls). Nil strings and the
// ANY enums match everything; PatternType MATCH matches the patterns that would
// apply to the literal resource ResourceName.
type ACLFilter struct {
	ResourceType kmsg.ACLResourceType
	ResourceName *string
	PatternType  kmsg.ACLResourcePatternType
	Principal    *string
	Host         *string
	Operation    kmsg.ACLOperation
	Permission   kmsg.ACLPermissionType
}

// Validate rejects filters with unknown enum values.
func (f ACLFilter) Validate() error {
	if f.ResourceType <= kmsg.ACLResourceTypeUnknown || f.ResourceType > kmsg.ACLResourceTypeUser {
		return fmt.Errorf("%w: filter resource type %d", ErrInvalidACL, int8(f.ResourceType))
	}
	if f.PatternType <= kmsg.ACLResourcePatternTypeUnknown || f.PatternType > kmsg.ACLResourcePatternTypePrefixed {
		return fmt.Errorf("%w: filter pattern type %d", ErrInvalidACL, int8(f.PatternType))
	}
	if f.PatternType == kmsg.ACLResourcePatternTypeMatch && f.ResourceName == nil {
		return fmt.Errorf("%w: a MATCH filter needs a resource name", ErrInvalidACL)
	}
	if f.Operation <= kmsg.ACLOperationUnknown || f.Operation > kmsg.ACLOperationDescribeTokens {
		return fmt.Errorf("%w: filter operation %d", ErrInvalidACL, int8(f.Operation))
	}
	if f.Permission <= kmsg.ACLPermissionTypeUnknown || f.Permission > kmsg.ACLPermissionTypeAllow {
		return fmt.Errorf("%w: filter permission %d", ErrInvalidACL, int8(f.Permission))
	}
	return nil
}

// Matches reports whether a is selected by f.
func (f ACLFilter) Matches(a ACL) bool {
	if f.ResourceType != kmsg.ACLResourceTypeAny && f.ResourceType != a.ResourceType {
		return false
	}
	switch f.PatternType {
	case kmsg.ACLResourcePatternTypeAny:
		if f.ResourceName != nil && *f.ResourceName != a.ResourceName {
			return false
		}
	case kmsg.ACLResourcePatternTypeMatch:
		if !patternMatches(a, *f.ResourceName) {
			return false
		}
	default:
		if f.PatternType != a.PatternType || (f.ResourceName != nil && *f.ResourceName != a.ResourceName) {
			return false
		}
	}
	if f.Principal != nil && *f.Principal != a.Principal {
		return false
	}
	if f.Host != nil && *f.Host != a.Host {
		return false
	}
	if f.Operation != kmsg.ACLOperationAny && f.Operation != a.Operation {
		return false
	}
	return f.Permission == kmsg.ACLPermissionTypeAny || f.Permission == a.Permission
}

// patternMatches reports whether a's resource pattern covers the resource name.
func patternMatches(a ACL, name string) bool {
	if a.PatternType == kmsg.ACLResourcePatternTypePrefixed {
		return strings.HasPrefix(name, a.ResourceName)
	}
	return a.ResourceName == name || a.ResourceName == WildcardName
}

// ACLSet is an immutable, sorted set of bindings. With and Without return new
// sets; the metadata snapshot holds one.
type ACLSet struct {
	acls []ACL
}

// NewACLSet returns the set of acls (duplicates collapse).
func NewACLSet(acls []ACL) *ACLSet {
	s := slices.Clone(acls)
	slices.SortFunc(s, compareACL)
	s = slices.CompactFunc(s, func(a, b ACL) bool { return compareACL(a, b) == 0 })
	return &ACLSet{acls: s}
}

// Len is the number of bindings; a nil set is empty.
func (s *ACLSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.acls)
}

// All returns every binding in order. Do not modify the result.
func (s *ACLSet) All() []ACL {
	if s == nil {
		return nil
	}
	return s.acls
}

// With returns the set plus acls.
func (s *ACLSet) With(acls []ACL) *ACLSet {
	return NewACLSet(append(slices.Clone(s.All()), acls...))
}

// Without returns the set minus acls.
func (s *ACLSet) Without(acls []ACL) *ACLSet {
	out := make([]ACL, 0, s.Len())
	for _, a := range s.All() {
		if !slices.ContainsFunc(acls, func(b ACL) bool { return compareACL(a, b) == 0 }) {
			out = append(out, a)
		}
	}
	return &ACLSet{acls: out}
}

// Filter returns the bindings f selects.
func (s *ACLSet) Filter(f ACLFilter) []ACL {
	var out []ACL
	for _, a := range s.All() {
		if f.Matches(a) {
			out = append(out, a)
		}
	}
	return out
}
