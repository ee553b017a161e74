package auth

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// memStore is an in-memory CredentialStore.
type memStore map[string]map[ScramMechanism]Credential

func (m memStore) ScramCredential(user string, mech ScramMechanism) (Credential, bool) {
	c, ok := m[user][mech]
	return c, ok
}

func newStore(t *testing.T, users map[string]string) memStore {
	t.Helper()
	s := memStore{}
	for u, p := range users {
		s[u] = map[ScramMechanism]Credential{}
		for _, m := range []ScramMechanism{ScramSHA256, ScramSHA512} {
			c, err := CredentialFromPassword(m, p, []byte("salt-"+u), MinScramIterations)
			if err != nil {
				t.Fatal(err)
			}
			s[u][m] = c
		}
	}
	return s
}

// converse runs franz-go's client side of mech against a server conversation.
func converse(t *testing.T, ms *Mechanisms, name string, client sasl.Mechanism) (Principal, error) {
	t.Helper()
	conv, err := ms.Start(name)
	if err != nil {
		t.Fatal(err)
	}
	sess, msg, err := client.Authenticate(context.Background(), "127.0.0.1:9092")
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		resp, done, err := conv.Step(msg)
		if err != nil {
			return Principal{}, err
		}
		cdone, next, cerr := sess.Challenge(resp)
		if cerr != nil {
			t.Fatalf("client rejected the server's answer: %v", cerr)
		}
		if done {
			if !cdone {
				t.Fatal("server finished before the client")
			}
			return conv.Principal(), nil
		}
		msg = next
	}
	t.Fatal("exchange did not finish")
	return Principal{}, nil
}

func TestConversationsAgainstFranzGo(t *testing.T) {
	ms, err := NewMechanisms(Mechanisms{Store: newStore(t, map[string]string{"alice": "pw", "a,b=c": "x"})})
	if err != nil {
		t.Fatal(err)
	}
	scramFor := func(name, user, pass string) sasl.Mechanism {
		a := scram.Auth{User: user, Pass: pass}
		if name == MechanismScramSHA512 {
			return a.AsSha512Mechanism()
		}
		return a.AsSha256Mechanism()
	}
	cases := []struct {
		name, mech, user, pass string
		ok                     bool
	}{
		{"scram256 ok", MechanismScramSHA256, "alice", "pw", true},
		{"scram512 ok", MechanismScramSHA512, "alice", "pw", true},
		{"scram escaped name", MechanismScramSHA256, "a,b=c", "x", true},
		{"scram256 wrong password", MechanismScramSHA256, "alice", "nope", false},
		{"scram512 unknown user", MechanismScramSHA512, "mallory", "pw", false},
		{"plain ok", MechanismPlain, "alice", "pw", true},
		{"plain wrong password", MechanismPlain, "alice", "nope", false},
		{"plain unknown user", MechanismPlain, "mallory", "pw", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := scramFor(c.mech, c.user, c.pass)
			if c.mech == MechanismPlain {
				client = plain.Auth{User: c.user, Pass: c.pass}.AsMechanism()
			}
			p, err := converse(t, ms, c.mech, client)
			if c.ok {
				if err != nil || p != User(c.user) {
					t.Fatalf("got %v, %v; want %v", p, err, User(c.user))
				}
				return
			}
			if !errors.Is(err, ErrAuthentication) {
				t.Fatalf("got %v, want ErrAuthentication", err)
			}
		})
	}
}

// An unknown user's server-first message looks like a real one and is stable
// across attempts, so probing cannot tell users apart.
func TestUnknownUserSaltIsStable(t *testing.T) {
	ms, err := NewMechanisms(Mechanisms{Store: memStore{}})
	if err != nil {
		t.Fatal(err)
	}
	var salts [][]byte
	for range 2 {
		c, _ := ms.Start(MechanismScramSHA256)
		out, _, err := c.Step([]byte("n,,n=ghost,r=abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(out, []byte(",s="))
		j := bytes.Index(out, []byte(",i="))
		salts = append(salts, out[i:j])
	}
	if !bytes.Equal(salts[0], salts[1]) {
		t.Fatalf("salts differ: %q %q", salts[0], salts[1])
	}
}

func TestParseClientMessages(t *testing.T) {
	for _, c := range []struct {
		msg  string
		ok   bool
		user string
	}{
		{"n,,n=user,r=nonce", true, "user"},
		{"y,,n=user,r=nonce", true, "user"},
		{"n,a=user,n=user,r=nonce,tokenauth=true", true, "user"},
		{"n,,n=a=2Cb=3Dc,r=nonce", true, "a,b=c"},
		{"p=tls-unique,,n=user,r=nonce", false, ""},
		{"n,,n=user", false, ""},
		{"n,,n=,r=nonce", false, ""},
		{"n,,n=a=2,r=nonce", false, ""},
		{"n,,m=ext,n=user,r=nonce", false, ""},
		{"n,,n=user,r=", false, ""},
		{"", false, ""},
	} {
		cf, err := parseClientFirst(c.msg)
		if (err == nil) != c.ok || (c.ok && cf.user != c.user) {
			t.Errorf("parseClientFirst(%q) = %+v, %v", c.msg, cf, err)
		}
	}
	for _, c := range []struct {
		msg string
		ok  bool
	}{
		{"c=biws,r=nonce,p=cHJvb2Y=", true},
		{"c=biws,r=nonce,ext=1,p=cHJvb2Y=", true},
		{"c=biws,r=nonce", false},
		{"c=!!,r=nonce,p=cHJvb2Y=", false},
		{"c=biws,r=nonce,p=", false},
		{"r=nonce,p=cHJvb2Y=", false},
	} {
		if _, err := parseClientFinal(c.msg); (err == nil) != c.ok {
			t.Errorf("parseClientFinal(%q): %v", c.msg, err)
		}
	}
}
