package auth

import (
	"bytes"
	"testing"
)

// FuzzParseClientFirst: no input panics, and what parses has a user and a
// printable nonce.
func FuzzParseClientFirst(f *testing.F) {
	for _, s := range []string{"n,,n=user,r=nonce", "n,a=u,n=u,r=abc,tokenauth=true", "n,,n=a=2C,r=x", "y,,", "p=x,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		cf, err := parseClientFirst(msg)
		if err != nil {
			return
		}
		if cf.user == "" || !printableNonce(cf.nonce) || cf.gs2Header+cf.bare != msg {
			t.Fatalf("accepted %q as %+v", msg, cf)
		}
	})
}

func FuzzParseClientFinal(f *testing.F) {
	for _, s := range []string{"c=biws,r=nonce,p=cHJvb2Y=", "c=,r=,p=", ",p=AA=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		cf, err := parseClientFinal(msg)
		if err != nil {
			return
		}
		if len(cf.proof) == 0 || !printableNonce(cf.nonce) {
			t.Fatalf("accepted %q as %+v", msg, cf)
		}
	})
}

func FuzzParsePlain(f *testing.F) {
	f.Add([]byte("\x00user\x00pass"))
	f.Add([]byte("authz\x00user\x00pass"))
	f.Add([]byte("\x00\x00"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, user, pass, err := parsePlain(msg)
		if err == nil && (user == "" || pass == "") {
			t.Fatalf("accepted %q with an empty field", msg)
		}
	})
}

// FuzzScramServer feeds arbitrary client messages to a server conversation:
// it never panics and never authenticates without the right proof.
func FuzzScramServer(f *testing.F) {
	f.Add([]byte("n,,n=alice,r=abc"), []byte("c=biws,r=abc,p=cHJvb2Y="))
	f.Add([]byte("n,,n=ghost,r=x"), []byte("c=biws,r=x,p=AA=="))
	cred, err := CredentialFromPassword(ScramSHA256, "pw", []byte("salt"), MinScramIterations)
	if err != nil {
		f.Fatal(err)
	}
	ms, err := NewMechanisms(Mechanisms{
		Store:  memStore{"alice": {ScramSHA256: cred}},
		Random: bytes.NewReader(bytes.Repeat([]byte{7}, 1<<20)),
		Secret: []byte("fuzz"),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, first, final []byte) {
		c, err := ms.Start(MechanismScramSHA256)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Step(first); err != nil {
			return
		}
		if _, done, err := c.Step(final); done || err == nil {
			t.Fatalf("authenticated with %q / %q", first, final)
		}
	})
}
