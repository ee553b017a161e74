package auth

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Authorizer decides requests against an ACLSet, as Kafka's standard
// authorizer does: super users may do anything; a matching DENY wins over any
// ALLOW; an ALLOW for the operation (or one that implies it) grants; a
// resource no binding mentions at all follows AllowEveryoneIfNoACL.
type Authorizer struct {
	// SuperUsers are principals ("User:admin") allowed everything.
	SuperUsers []string
	// AllowEveryoneIfNoACL is allow.everyone.if.no.acl.found. Default false.
	AllowEveryoneIfNoACL bool
}

// Resource is what a request touches.
type Resource struct {
	Type kmsg.ACLResourceType
	Name string
}

// Cluster is the cluster resource.
func Cluster() Resource {
	return Resource{Type: kmsg.ACLResourceTypeCluster, Name: ClusterResourceName}
}

// Topic names a topic resource.
func Topic(name string) Resource { return Resource{Type: kmsg.ACLResourceTypeTopic, Name: name} }

// Group names a consumer group resource.
func Group(name string) Resource { return Resource{Type: kmsg.ACLResourceTypeGroup, Name: name} }

// TransactionalID names a transactional id resource.
func TransactionalID(name string) Resource {
	return Resource{Type: kmsg.ACLResourceTypeTransactionalId, Name: name}
}

// String is "Topic:orders" and the like, for logs.
func (r Resource) String() string { return r.Type.String() + ":" + r.Name }

// Authorize reports whether principal, connecting from host, may perform op on
// res under acls.
func (z *Authorizer) Authorize(acls *ACLSet, principal Principal, host string, op kmsg.ACLOperation, res Resource) bool {
	p := principal.String()
	if slices.Contains(z.SuperUsers, p) {
		return true
	}
	wildcardPrincipal := principal.Type + ":" + WildcardName
	mentioned, allowed := false, false
	for _, a := range acls.All() {
		if a.ResourceType != res.Type || !patternMatches(a, res.Name) {
			continue
		}
		mentioned = true
		if a.Principal != p && a.Principal != wildcardPrincipal {
			continue
		}
		if a.Host != WildcardName && a.Host != host {
			continue
		}
		if a.Permission == kmsg.ACLPermissionTypeDeny {
			if a.Operation == op || a.Operation == kmsg.ACLOperationAll {
				return false
			}
			continue
		}
		if implies(a.Operation, op) {
			allowed = true
		}
	}
	if !mentioned {
		return z.AllowEveryoneIfNoACL
	}
	return allowed
}

// implies reports whether an ALLOW for granted also allows op: ALL allows
// everything; READ, WRITE, DELETE and ALTER allow DESCRIBE; ALTER_CONFIGS
// allows DESCRIBE_CONFIGS.
func implies(granted, op kmsg.ACLOperation) bool {
	if granted == op || granted == kmsg.ACLOperationAll {
		return true
	}
	switch op {
	case kmsg.ACLOperationDescribe:
		return granted == kmsg.ACLOperationRead || granted == kmsg.ACLOperationWrite ||
			granted == kmsg.ACLOperationDelete || granted == kmsg.ACLOperationAlter
	case kmsg.ACLOperationDescribeConfigs:
		return granted == kmsg.ACLOperationAlterConfigs
	}
	return false
}
