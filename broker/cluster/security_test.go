package cluster

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
)

func testCredential(t *testing.T, m auth.ScramMechanism, pw string) auth.Credential {
	t.Helper()
	c, err := auth.CredentialFromPassword(m, pw, []byte("salt"), auth.MinScramIterations)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSecurityCommands(t *testing.T) {
	acl := auth.ACL{ResourceType: kmsg.ACLResourceTypeTopic, ResourceName: "t", PatternType: kmsg.ACLResourcePatternTypeLiteral,
		Principal: "User:a", Host: "*", Operation: kmsg.ACLOperationRead, Permission: kmsg.ACLPermissionTypeAllow}
	bad := acl
	bad.Operation = kmsg.ACLOperationAny
	c256 := testCredential(t, auth.ScramSHA256, "pw")
	short := c256
	short.StoredKey = short.StoredKey[:3]
	steps := []struct {
		name string
		cmd  Command
		err  error
	}{
		{"upsert", Command{UpsertScramCredential: &ScramCredentialUpsert{User: "a", Credential: c256}}, nil},
		{"upsert 512", Command{UpsertScramCredential: &ScramCredentialUpsert{User: "a", Credential: testCredential(t, auth.ScramSHA512, "pw")}}, nil},
		{"bad credential", Command{UpsertScramCredential: &ScramCredentialUpsert{User: "b", Credential: short}}, ErrInvalidCommand},
		{"empty user", Command{UpsertScramCredential: &ScramCredentialUpsert{Credential: c256}}, ErrInvalidCommand},
		{"delete unknown", Command{DeleteScramCredential: &ScramCredentialDeletion{User: "b", Mechanism: auth.ScramSHA256}}, ErrUnknownCredential},
		{"delete 512", Command{DeleteScramCredential: &ScramCredentialDeletion{User: "a", Mechanism: auth.ScramSHA512}}, nil},
		{"acl", Command{CreateACLs: &ACLCreation{ACLs: []auth.ACL{acl, acl}}}, nil},
		{"bad acl", Command{CreateACLs: &ACLCreation{ACLs: []auth.ACL{bad}}}, ErrInvalidCommand},
	}
	m := NewMetadata("c", 1)
	for _, s := range steps {
		if err := m.Apply(s.cmd); !errors.Is(err, s.err) || (s.err == nil && err != nil) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.err)
		}
	}
	snap := m.Snapshot()
	if _, ok := snap.ScramCredential("a", auth.ScramSHA512); ok {
		t.Fatal("deleted credential still there")
	}
	if c, ok := snap.ScramCredential("a", auth.ScramSHA256); !ok || !c.CheckPassword("pw") {
		t.Fatal("stored credential does not check the password")
	}
	if snap.ACLs.Len() != 1 {
		t.Fatalf("acls: %v", snap.ACLs.All())
	}

	// The snapshot file keeps them, through the same checks.
	b, err := MarshalSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := back.ScramCredential("a", auth.ScramSHA256); !ok || !c.CheckPassword("pw") || back.ACLs.Len() != 1 {
		t.Fatalf("round trip lost security state: %+v", back)
	}
	again, err := MarshalSnapshot(back)
	if err != nil || string(again) != string(b) {
		t.Fatalf("snapshot not stable: %v", err)
	}

	if err := m.Apply(Command{DeleteACLs: &ACLDeletion{ACLs: []auth.ACL{acl}}}); err != nil {
		t.Fatal(err)
	}
	if m.Snapshot().ACLs.Len() != 0 {
		t.Fatal("acl not deleted")
	}
}

// Local persists the security commands across a reopen.
func TestLocalSecurityPersists(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLocal(dir, 1, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.UpsertScramCredential("a", testCredential(t, auth.ScramSHA256, "pw")); err != nil {
		t.Fatal(err)
	}
	acl := auth.ACL{ResourceType: kmsg.ACLResourceTypeGroup, ResourceName: "g-", PatternType: kmsg.ACLResourcePatternTypePrefixed,
		Principal: "User:a", Host: "*", Operation: kmsg.ACLOperationRead, Permission: kmsg.ACLPermissionTypeAllow}
	if err := l.CreateACLs([]auth.ACL{acl}); err != nil {
		t.Fatal(err)
	}
	all := auth.ACLFilter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny,
		Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = OpenLocal(dir, 1, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, ok := l.Snapshot().ScramCredential("a", auth.ScramSHA256); !ok {
		t.Fatal("credential lost on reopen")
	}
	removed, err := l.DeleteACLs([]auth.ACLFilter{all})
	if err != nil || len(removed) != 1 || len(removed[0]) != 1 || removed[0][0] != acl {
		t.Fatalf("delete all: %v %v", removed, err)
	}
}
