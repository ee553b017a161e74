package cluster

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/tributary-io/tributary/broker/auth"
)

// Security metadata: SCRAM credentials (salted and hashed by the proposer,
// never a password) and ACL bindings. They are ordinary metadata commands, so
// they replicate and persist with the rest of the metadata.

// ErrUnknownCredential: a deletion names a user and mechanism that has no
// credential (RESOURCE_NOT_FOUND).
var ErrUnknownCredential = errors.New("cluster: unknown scram credential")

// ScramCredentialUpsert stores a user's credential for one mechanism.
type ScramCredentialUpsert struct {
	User       string          `json:"user"`
	Credential auth.Credential `json:"credential"`
}

// ScramCredentialDeletion removes a user's credential for one mechanism.
type ScramCredentialDeletion struct {
	User      string              `json:"user"`
	Mechanism auth.ScramMechanism `json:"mechanism"`
}

// ACLCreation adds bindings (already present ones are kept once).
type ACLCreation struct {
	ACLs []auth.ACL `json:"acls"`
}

// ACLDeletion removes exactly these bindings; the proposer resolved filters.
type ACLDeletion struct {
	ACLs []auth.ACL `json:"acls"`
}

// scramCredentialJSON is one stored credential in a snapshot.
type scramCredentialJSON struct {
	User       string          `json:"user"`
	Credential auth.Credential `json:"credential"`
}

func (c Command) securityKinds() []string {
	var kinds []string
	if c.UpsertScramCredential != nil {
		kinds = append(kinds, "upsert_scram_credential")
	}
	if c.DeleteScramCredential != nil {
		kinds = append(kinds, "delete_scram_credential")
	}
	if c.CreateACLs != nil {
		kinds = append(kinds, "create_acls")
	}
	if c.DeleteACLs != nil {
		kinds = append(kinds, "delete_acls")
	}
	return kinds
}

// applySecurity applies the security commands; next's dispatch calls it for
// any command it does not handle itself.
func (s *Snapshot) applySecurity(cmd Command) error {
	switch {
	case cmd.UpsertScramCredential != nil:
		return s.upsertScramCredential(cmd.UpsertScramCredential)
	case cmd.DeleteScramCredential != nil:
		return s.deleteScramCredential(cmd.DeleteScramCredential)
	case cmd.CreateACLs != nil:
		for _, a := range cmd.CreateACLs.ACLs {
			if err := a.Validate(); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidCommand, err)
			}
		}
		s.ACLs = s.ACLs.With(cmd.CreateACLs.ACLs)
		return nil
	case cmd.DeleteACLs != nil:
		s.ACLs = s.ACLs.Without(cmd.DeleteACLs.ACLs)
		return nil
	}
	return fmt.Errorf("%w: unhandled command", ErrInvalidCommand)
}

func (s *Snapshot) upsertScramCredential(c *ScramCredentialUpsert) error {
	if c.User == "" {
		return fmt.Errorf("%w: %w: empty user name", ErrInvalidCommand, auth.ErrInvalidCredential)
	}
	if err := c.Credential.Validate(); err != nil {
		return fmt.Errorf("%w: user %s: %w", ErrInvalidCommand, c.User, err)
	}
	users := maps.Clone(s.ScramUsers)
	if users == nil {
		users = map[string]map[auth.ScramMechanism]auth.Credential{}
	}
	creds := maps.Clone(users[c.User])
	if creds == nil {
		creds = map[auth.ScramMechanism]auth.Credential{}
	}
	creds[c.Credential.Mechanism] = c.Credential
	users[c.User] = creds
	s.ScramUsers = users
	return nil
}

func (s *Snapshot) deleteScramCredential(c *ScramCredentialDeletion) error {
	if _, ok := s.ScramUsers[c.User][c.Mechanism]; !ok {
		return fmt.Errorf("%w: %s for %s", ErrUnknownCredential, c.Mechanism, c.User)
	}
	users := maps.Clone(s.ScramUsers)
	creds := maps.Clone(users[c.User])
	delete(creds, c.Mechanism)
	if len(creds) == 0 {
		delete(users, c.User)
	} else {
		users[c.User] = creds
	}
	s.ScramUsers = users
	return nil
}

// ScramCredential returns the stored credential of user for m; a Snapshot is
// an auth.CredentialStore.
func (s *Snapshot) ScramCredential(user string, m auth.ScramMechanism) (auth.Credential, bool) {
	c, ok := s.ScramUsers[user][m]
	return c, ok
}

// ScramUserNames lists the users with any credential, sorted.
func (s *Snapshot) ScramUserNames() []string {
	return slices.Sorted(maps.Keys(s.ScramUsers))
}

// marshalSecurity returns the snapshot's security state in a stable order.
func marshalSecurity(s *Snapshot) ([]scramCredentialJSON, []auth.ACL) {
	var creds []scramCredentialJSON
	for _, u := range s.ScramUserNames() {
		for _, m := range slices.Sorted(maps.Keys(s.ScramUsers[u])) {
			creds = append(creds, scramCredentialJSON{User: u, Credential: s.ScramUsers[u][m]})
		}
	}
	return creds, s.ACLs.All()
}

// restoreSecurity replays the stored security state through the same checks
// as its commands.
func restoreSecurity(m *Metadata, creds []scramCredentialJSON, acls []auth.ACL) error {
	for _, c := range creds {
		if err := m.Apply(Command{UpsertScramCredential: &ScramCredentialUpsert{User: c.User, Credential: c.Credential}}); err != nil {
			return err
		}
	}
	if len(acls) > 0 {
		if err := m.Apply(Command{CreateACLs: &ACLCreation{ACLs: acls}}); err != nil {
			return err
		}
	}
	return nil
}

// UpsertScramCredential durably stores user's credential.
func (l *Local) UpsertScramCredential(user string, c auth.Credential) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.propose(Command{UpsertScramCredential: &ScramCredentialUpsert{User: user, Credential: c}}, false); err != nil {
		return fmt.Errorf("store %s credential of %s: %w", c.Mechanism, user, err)
	}
	return nil
}

// DeleteScramCredential durably removes user's credential for m.
func (l *Local) DeleteScramCredential(user string, m auth.ScramMechanism) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.propose(Command{DeleteScramCredential: &ScramCredentialDeletion{User: user, Mechanism: m}}, false); err != nil {
		return fmt.Errorf("delete %s credential of %s: %w", m, user, err)
	}
	return nil
}

// CreateACLs durably adds bindings.
func (l *Local) CreateACLs(acls []auth.ACL) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.propose(Command{CreateACLs: &ACLCreation{ACLs: acls}}, false); err != nil {
		return fmt.Errorf("create %d acls: %w", len(acls), err)
	}
	return nil
}

// DeleteACLs removes every binding any filter selects and returns, per filter,
// the bindings it removed. Matching and removal happen under one lock, so a
// concurrent change cannot slip between them.
func (l *Local) DeleteACLs(filters []auth.ACLFilter) ([][]auth.ACL, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	set := l.meta.Snapshot().ACLs
	out := make([][]auth.ACL, len(filters))
	var all []auth.ACL
	for i, f := range filters {
		out[i] = set.Filter(f)
		all = append(all, out[i]...)
	}
	if len(all) == 0 {
		return out, nil
	}
	if _, err := l.propose(Command{DeleteACLs: &ACLDeletion{ACLs: all}}, false); err != nil {
		return nil, fmt.Errorf("delete %d acls: %w", len(all), err)
	}
	return out, nil
}
