package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
)

// Errors of this package, classified with errors.Is. broker/kafka maps them to
// Kafka error codes.
var (
	// ErrAuthentication: the credentials did not check out (any reason: unknown
	// user, wrong password, bad proof). Messages never say which.
	ErrAuthentication = errors.New("auth: authentication failed") // SASL_AUTHENTICATION_FAILED
	// ErrMalformed: a SASL message does not parse (also SASL_AUTHENTICATION_FAILED).
	ErrMalformed = errors.New("auth: malformed sasl message")
	// ErrUnsupportedMechanism: a mechanism this broker does not offer.
	ErrUnsupportedMechanism = errors.New("auth: unsupported sasl mechanism") // UNSUPPORTED_SASL_MECHANISM
	// ErrInvalidCredential: a SCRAM credential change that cannot be stored
	// (iterations out of range, empty salt, wrong key length, empty user name).
	ErrInvalidCredential = errors.New("auth: invalid scram credential")
	// ErrInvalidACL: an ACL binding or filter that is not well formed.
	ErrInvalidACL = errors.New("auth: invalid acl")
)

// ScramMechanism is a SCRAM hash, numbered as Kafka's
// DescribeUserScramCredentials/AlterUserScramCredentials number them.
type ScramMechanism int8

// The SCRAM mechanisms.
const (
	ScramSHA256 ScramMechanism = 1
	ScramSHA512 ScramMechanism = 2
)

// Iteration bounds Kafka enforces for stored SCRAM credentials.
const (
	MinScramIterations = 4096
	MaxScramIterations = 16384
)

// ParseScramMechanism maps "SCRAM-SHA-256"/"SCRAM-SHA-512" to a mechanism.
func ParseScramMechanism(name string) (ScramMechanism, bool) {
	switch name {
	case "SCRAM-SHA-256":
		return ScramSHA256, true
	case "SCRAM-SHA-512":
		return ScramSHA512, true
	}
	return 0, false
}

// Valid reports whether m is a known mechanism.
func (m ScramMechanism) Valid() bool { return m == ScramSHA256 || m == ScramSHA512 }

// String is the SASL mechanism name.
func (m ScramMechanism) String() string {
	switch m {
	case ScramSHA256:
		return "SCRAM-SHA-256"
	case ScramSHA512:
		return "SCRAM-SHA-512"
	}
	return fmt.Sprintf("SCRAM-UNKNOWN(%d)", int8(m))
}

func (m ScramMechanism) hash() func() hash.Hash {
	if m == ScramSHA512 {
		return sha512.New
	}
	return sha256.New
}

// KeyLen is the hash output size, which is also the salted password's length.
func (m ScramMechanism) KeyLen() int {
	if m == ScramSHA512 {
		return sha512.Size
	}
	return sha256.Size
}

// Credential is what the broker stores for one user and mechanism (RFC 5802
// section 3): enough to verify a client proof and sign the server's answer,
// never enough to log in as the user.
type Credential struct {
	Mechanism  ScramMechanism `json:"mechanism"`
	Salt       []byte         `json:"salt"`
	Iterations int32          `json:"iterations"`
	StoredKey  []byte         `json:"stored_key"`
	ServerKey  []byte         `json:"server_key"`
}

// SaltPassword computes SaltedPassword = Hi(password, salt, iterations).
// SASLprep normalization is not applied: clients (franz-go, librdkafka, Kafka's
// own) send ASCII passwords as they are, and so does the CLI.
func SaltPassword(m ScramMechanism, password string, salt []byte, iterations int) ([]byte, error) {
	if !m.Valid() {
		return nil, fmt.Errorf("%w: mechanism %d", ErrUnsupportedMechanism, int8(m))
	}
	k, err := pbkdf2.Key(m.hash(), password, salt, iterations, m.KeyLen())
	if err != nil {
		return nil, fmt.Errorf("salt password: %w", err)
	}
	return k, nil
}

// NewCredential derives the stored credential from a salted password, as
// AlterUserScramCredentials delivers it (the client salts; the password never
// travels).
func NewCredential(m ScramMechanism, salt, saltedPassword []byte, iterations int32) (Credential, error) {
	switch {
	case !m.Valid():
		return Credential{}, fmt.Errorf("%w: unknown mechanism %d", ErrInvalidCredential, int8(m))
	case iterations < MinScramIterations || iterations > MaxScramIterations:
		return Credential{}, fmt.Errorf("%w: %d iterations, must be %d-%d", ErrInvalidCredential, iterations, MinScramIterations, MaxScramIterations)
	case len(salt) == 0:
		return Credential{}, fmt.Errorf("%w: empty salt", ErrInvalidCredential)
	case len(saltedPassword) != m.KeyLen():
		return Credential{}, fmt.Errorf("%w: %s salted password is %d bytes, want %d", ErrInvalidCredential, m, len(saltedPassword), m.KeyLen())
	}
	clientKey := mac(m, saltedPassword, []byte("Client Key"))
	return Credential{
		Mechanism:  m,
		Salt:       append([]byte(nil), salt...),
		Iterations: iterations,
		StoredKey:  sum(m, clientKey),
		ServerKey:  mac(m, saltedPassword, []byte("Server Key")),
	}, nil
}

// CredentialFromPassword salts password and derives the credential (bootstrap
// users from the broker config, tests).
func CredentialFromPassword(m ScramMechanism, password string, salt []byte, iterations int32) (Credential, error) {
	sp, err := SaltPassword(m, password, salt, int(iterations))
	if err != nil {
		return Credential{}, err
	}
	return NewCredential(m, salt, sp, iterations)
}

// Validate checks a stored credential's shape (metadata commands, snapshots).
func (c Credential) Validate() error {
	switch {
	case !c.Mechanism.Valid():
		return fmt.Errorf("%w: unknown mechanism %d", ErrInvalidCredential, int8(c.Mechanism))
	case c.Iterations < MinScramIterations || c.Iterations > MaxScramIterations:
		return fmt.Errorf("%w: %d iterations", ErrInvalidCredential, c.Iterations)
	case len(c.Salt) == 0:
		return fmt.Errorf("%w: empty salt", ErrInvalidCredential)
	case len(c.StoredKey) != c.Mechanism.KeyLen() || len(c.ServerKey) != c.Mechanism.KeyLen():
		return fmt.Errorf("%w: key lengths %d/%d for %s", ErrInvalidCredential, len(c.StoredKey), len(c.ServerKey), c.Mechanism)
	}
	return nil
}

// CheckPassword reports whether password matches c (SASL/PLAIN against the
// SCRAM store), in constant time over the derived keys.
func (c Credential) CheckPassword(password string) bool {
	sp, err := SaltPassword(c.Mechanism, password, c.Salt, int(c.Iterations))
	if err != nil {
		return false
	}
	stored := sum(c.Mechanism, mac(c.Mechanism, sp, []byte("Client Key")))
	return hmac.Equal(stored, c.StoredKey)
}

func mac(m ScramMechanism, key, msg []byte) []byte {
	h := hmac.New(m.hash(), key)
	h.Write(msg)
	return h.Sum(nil)
}

func sum(m ScramMechanism, b []byte) []byte {
	h := m.hash()()
	h.Write(b)
	return h.Sum(nil)
}
