package auth

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestAuthorize(t *testing.T) {
	allow := func(rt kmsg.ACLResourceType, name string, pt kmsg.ACLResourcePatternType, p string, op kmsg.ACLOperation) ACL {
		return ACL{ResourceType: rt, ResourceName: name, PatternType: pt, Principal: p, Host: "*", Operation: op,
			Permission: kmsg.ACLPermissionTypeAllow}
	}
	lit, pre := kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLResourcePatternTypePrefixed
	topic, group := kmsg.ACLResourceTypeTopic, kmsg.ACLResourceTypeGroup
	deny := allow(topic, "secret", lit, "User:*", kmsg.ACLOperationRead)
	deny.Permission = kmsg.ACLPermissionTypeDeny
	hostOnly := allow(topic, "lan", lit, "User:alice", kmsg.ACLOperationRead)
	hostOnly.Host = "10.0.0.1"
	set := NewACLSet([]ACL{
		allow(topic, "orders", lit, "User:alice", kmsg.ACLOperationWrite),
		allow(topic, "logs-", pre, "User:alice", kmsg.ACLOperationRead),
		allow(topic, "*", lit, "User:bob", kmsg.ACLOperationDescribe),
		allow(topic, "secret", lit, "User:alice", kmsg.ACLOperationAll),
		deny,
		hostOnly,
		allow(group, "g", lit, "User:*", kmsg.ACLOperationRead),
		allow(kmsg.ACLResourceTypeCluster, ClusterResourceName, lit, "User:ops", kmsg.ACLOperationAlterConfigs),
	})
	z := &Authorizer{SuperUsers: []string{"User:root"}}
	open := &Authorizer{AllowEveryoneIfNoACL: true}
	cases := []struct {
		name  string
		z     *Authorizer
		who   string
		host  string
		op    kmsg.ACLOperation
		res   Resource
		allow bool
	}{
		{"literal allow", z, "alice", "1.2.3.4", kmsg.ACLOperationWrite, Topic("orders"), true},
		{"write implies describe", z, "alice", "1.2.3.4", kmsg.ACLOperationDescribe, Topic("orders"), true},
		{"write does not imply read", z, "alice", "1.2.3.4", kmsg.ACLOperationRead, Topic("orders"), false},
		{"other principal", z, "bob", "1.2.3.4", kmsg.ACLOperationWrite, Topic("orders"), false},
		{"prefixed", z, "alice", "1.2.3.4", kmsg.ACLOperationRead, Topic("logs-app"), true},
		{"prefix is not a match", z, "alice", "1.2.3.4", kmsg.ACLOperationRead, Topic("log"), false},
		{"wildcard name", z, "bob", "1.2.3.4", kmsg.ACLOperationDescribe, Topic("anything"), true},
		{"deny wins over all", z, "alice", "1.2.3.4", kmsg.ACLOperationRead, Topic("secret"), false},
		{"deny is per operation", z, "alice", "1.2.3.4", kmsg.ACLOperationWrite, Topic("secret"), true},
		{"host match", z, "alice", "10.0.0.1", kmsg.ACLOperationRead, Topic("lan"), true},
		{"host mismatch", z, "alice", "10.0.0.2", kmsg.ACLOperationRead, Topic("lan"), false},
		{"wildcard principal group", z, "carol", "1.2.3.4", kmsg.ACLOperationRead, Group("g"), true},
		{"group other op", z, "carol", "1.2.3.4", kmsg.ACLOperationDelete, Group("g"), false},
		{"alter configs implies describe configs", z, "ops", "1.2.3.4", kmsg.ACLOperationDescribeConfigs, Cluster(), true},
		{"no acl: denied by default", z, "alice", "1.2.3.4", kmsg.ACLOperationWrite, TransactionalID("tx"), false},
		{"no acl: allow everyone", open, "alice", "1.2.3.4", kmsg.ACLOperationWrite, TransactionalID("tx"), true},
		{"acl exists: allow everyone does not apply", open, "bob", "1.2.3.4", kmsg.ACLOperationWrite, Topic("orders"), false},
		{"super user", z, "root", "1.2.3.4", kmsg.ACLOperationAlter, Cluster(), true},
	}
	for _, c := range cases {
		if got := c.z.Authorize(set, User(c.who), c.host, c.op, c.res); got != c.allow {
			t.Errorf("%s: got %v, want %v", c.name, got, c.allow)
		}
	}
}

func TestACLSetAndFilters(t *testing.T) {
	a := ACL{ResourceType: kmsg.ACLResourceTypeTopic, ResourceName: "t", PatternType: kmsg.ACLResourcePatternTypeLiteral,
		Principal: "User:a", Host: "*", Operation: kmsg.ACLOperationRead, Permission: kmsg.ACLPermissionTypeAllow}
	b := a
	b.ResourceName, b.PatternType = "t-", kmsg.ACLResourcePatternTypePrefixed
	set := NewACLSet([]ACL{a, b, a})
	if set.Len() != 2 {
		t.Fatalf("duplicates kept: %v", set.All())
	}
	name := "t-1"
	match := ACLFilter{ResourceType: kmsg.ACLResourceTypeAny, ResourceName: &name, PatternType: kmsg.ACLResourcePatternTypeMatch,
		Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
	if got := set.Filter(match); len(got) != 1 || got[0] != b {
		t.Fatalf("MATCH t-1: %v", got)
	}
	all := ACLFilter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny,
		Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
	if got := set.Without(set.Filter(all)); got.Len() != 0 {
		t.Fatalf("delete all left %v", got.All())
	}
	bad := a
	bad.ResourceType = kmsg.ACLResourceTypeCluster
	if bad.Validate() == nil {
		t.Fatal("cluster binding with a topic name accepted")
	}
}
