package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// SASL mechanism names as clients send them in SaslHandshake.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// AllMechanisms lists every mechanism the broker implements, in the order
// SaslHandshake advertises them by default.
func AllMechanisms() []string {
	return []string{MechanismScramSHA512, MechanismScramSHA256, MechanismPlain}
}

// CredentialStore finds a user's stored SCRAM credential. The broker's store is
// the replicated cluster metadata.
type CredentialStore interface {
	ScramCredential(user string, m ScramMechanism) (Credential, bool)
}

// Conversation is the server side of one SASL exchange: the wire server passes
// each SaslAuthenticate payload to Step and sends back what it returns. When
// Step reports done, Principal names the authenticated user.
type Conversation interface {
	// Step consumes the client's next message. An error ends the exchange;
	// errors wrap ErrAuthentication or ErrMalformed and their text is safe to
	// send to the client.
	Step(msg []byte) (resp []byte, done bool, err error)
	// Principal is the authenticated principal once Step reported done.
	Principal() Principal
}

// Mechanisms starts server-side SASL conversations for the enabled mechanisms.
type Mechanisms struct {
	// Enabled lists the mechanisms offered (sasl.enabled.mechanisms).
	// Default AllMechanisms.
	Enabled []string
	// Store holds the SCRAM credentials; PLAIN checks passwords against them too.
	Store CredentialStore
	// Secret keys the made-up credentials of unknown users, so an unknown user
	// gets the same salt on every attempt and cannot be told apart from a wrong
	// password. Default: random at first use of NewMechanisms.
	Secret []byte
	// Random is the source of server nonces. Default crypto/rand.
	Random io.Reader
}

// NewMechanisms returns m with defaults filled in.
func NewMechanisms(m Mechanisms) (*Mechanisms, error) {
	if len(m.Enabled) == 0 {
		m.Enabled = AllMechanisms()
	}
	for _, name := range m.Enabled {
		if !slices.Contains(AllMechanisms(), name) {
			return nil, fmt.Errorf("%w: %q (supported: %v)", ErrUnsupportedMechanism, name, AllMechanisms())
		}
	}
	if m.Random == nil {
		m.Random = rand.Reader
	}
	if len(m.Secret) == 0 {
		m.Secret = make([]byte, 32)
		if _, err := io.ReadFull(m.Random, m.Secret); err != nil {
			return nil, fmt.Errorf("sasl secret: %w", err)
		}
	}
	if m.Store == nil {
		return nil, fmt.Errorf("sasl: no credential store")
	}
	return &m, nil
}

// Start begins a conversation for mechanism name.
func (m *Mechanisms) Start(name string) (Conversation, error) {
	if !slices.Contains(m.Enabled, name) {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedMechanism, name)
	}
	if name == MechanismPlain {
		return &plainConversation{m: m}, nil
	}
	mech, _ := ParseScramMechanism(name)
	return &scramConversation{m: m, mech: mech}, nil
}

// lookup returns the user's credential, or a made-up one that no password
// matches but that looks the same from outside (stable salt, default
// iterations).
func (m *Mechanisms) lookup(user string, mech ScramMechanism) (Credential, bool) {
	if c, ok := m.Store.ScramCredential(user, mech); ok {
		return c, true
	}
	h := hmac.New(mech.hash(), m.Secret)
	fmt.Fprintf(h, "%d\x00%s", mech, user)
	fake := h.Sum(nil)
	return Credential{
		Mechanism:  mech,
		Salt:       fake[:16],
		Iterations: MinScramIterations,
		StoredKey:  mac(mech, m.Secret, fake),
		ServerKey:  mac(mech, fake, m.Secret),
	}, false
}

// scramConversation is the server side of SCRAM (RFC 5802): client-first →
// server-first, client-final → server-final.
type scramConversation struct {
	m     *Mechanisms
	mech  ScramMechanism
	step  int
	first clientFirst
	cred  Credential
	known bool
	// serverFirst is the server-first-message, part of the AuthMessage.
	serverFirst string
	nonce       string
	principal   Principal
}

func (c *scramConversation) Principal() Principal { return c.principal }

func (c *scramConversation) Step(msg []byte) ([]byte, bool, error) {
	switch c.step {
	case 0:
		c.step++
		return c.stepFirst(string(msg))
	case 1:
		c.step++
		return c.stepFinal(string(msg))
	}
	return nil, false, fmt.Errorf("%w: %s exchange already finished", ErrMalformed, c.mech)
}

func (c *scramConversation) stepFirst(msg string) ([]byte, bool, error) {
	cf, err := parseClientFirst(msg)
	if err != nil {
		return nil, false, err
	}
	if cf.authzid != "" && cf.authzid != cf.user {
		return nil, false, fmt.Errorf("%w: authorization id must equal the user name", ErrAuthentication)
	}
	if cf.extensions["tokenauth"] == "true" {
		// Delegation tokens are not supported; fail like any bad credential.
		return nil, false, fmt.Errorf("%w: invalid credentials with SASL mechanism %s", ErrAuthentication, c.mech)
	}
	var raw [24]byte
	if _, err := io.ReadFull(c.m.Random, raw[:]); err != nil {
		return nil, false, fmt.Errorf("scram nonce: %w", err)
	}
	c.first = cf
	c.cred, c.known = c.m.lookup(cf.user, c.mech)
	c.nonce = cf.nonce + base64.RawStdEncoding.EncodeToString(raw[:])
	c.serverFirst = "r=" + c.nonce + ",s=" + base64.StdEncoding.EncodeToString(c.cred.Salt) +
		",i=" + strconv.Itoa(int(c.cred.Iterations))
	return []byte(c.serverFirst), false, nil
}

func (c *scramConversation) stepFinal(msg string) ([]byte, bool, error) {
	fin, err := parseClientFinal(msg)
	if err != nil {
		return nil, false, err
	}
	// The nonce must end with the combined nonce: librdkafka sends its own
	// nonce again in front of it, and Kafka accepts that, so this does too.
	if !bytes.Equal(fin.channelBinding, []byte(c.first.gs2Header)) || !strings.HasSuffix(fin.nonce, c.nonce) {
		return nil, false, fmt.Errorf("%w: invalid credentials with SASL mechanism %s", ErrAuthentication, c.mech)
	}
	authMessage := []byte(c.first.bare + "," + c.serverFirst + "," + fin.withoutProof)
	clientSig := mac(c.mech, c.cred.StoredKey, authMessage)
	if len(fin.proof) != len(clientSig) {
		return nil, false, fmt.Errorf("%w: invalid credentials with SASL mechanism %s", ErrAuthentication, c.mech)
	}
	clientKey := make([]byte, len(clientSig))
	for i := range clientKey {
		clientKey[i] = fin.proof[i] ^ clientSig[i]
	}
	if !hmac.Equal(sum(c.mech, clientKey), c.cred.StoredKey) || !c.known {
		return nil, false, fmt.Errorf("%w: invalid credentials with SASL mechanism %s", ErrAuthentication, c.mech)
	}
	c.principal = User(c.first.user)
	serverSig := mac(c.mech, c.cred.ServerKey, authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(serverSig)), true, nil
}

// plainConversation is SASL/PLAIN (RFC 4616): one message
// "authzid NUL user NUL password", checked against the user's SCRAM credential.
type plainConversation struct {
	m         *Mechanisms
	done      bool
	principal Principal
}

func (c *plainConversation) Principal() Principal { return c.principal }

func (c *plainConversation) Step(msg []byte) ([]byte, bool, error) {
	if c.done {
		return nil, false, fmt.Errorf("%w: PLAIN exchange already finished", ErrMalformed)
	}
	c.done = true
	authzid, user, password, err := parsePlain(msg)
	if err != nil {
		return nil, false, err
	}
	if authzid != "" && authzid != user {
		return nil, false, fmt.Errorf("%w: authorization id must equal the user name", ErrAuthentication)
	}
	// Prefer the stronger hash; the made-up credential costs the same PBKDF2
	// work as a real one, so timing does not reveal unknown users.
	cred, known := c.m.lookup(user, ScramSHA512)
	if !known {
		if c256, ok := c.m.Store.ScramCredential(user, ScramSHA256); ok {
			cred, known = c256, true
		}
	}
	if !cred.CheckPassword(password) || !known {
		return nil, false, fmt.Errorf("%w: invalid username or password", ErrAuthentication)
	}
	c.principal = User(user)
	return nil, true, nil
}

// parsePlain splits a PLAIN message into its three fields.
func parsePlain(msg []byte) (authzid, user, password string, err error) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 {
		return "", "", "", fmt.Errorf("%w: PLAIN message has %d fields, want 3", ErrMalformed, len(parts))
	}
	if len(parts[1]) == 0 || len(parts[2]) == 0 {
		return "", "", "", fmt.Errorf("%w: PLAIN user name and password must not be empty", ErrMalformed)
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}
