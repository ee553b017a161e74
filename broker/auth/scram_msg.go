package auth

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// The SCRAM messages a server reads (RFC 5802 section 7). Parsing is strict:
// anything outside the grammar is ErrMalformed, and nothing here panics on any
// input (fuzzed in scram_fuzz_test.go).

// clientFirst is the client-first-message.
type clientFirst struct {
	// gs2Header is "n,," or "y,,", or with an authzid "n,a=name,"; the client
	// echoes it base64-encoded in its final message.
	gs2Header string
	authzid   string
	user      string
	nonce     string
	// bare is the message without the gs2 header, part of the AuthMessage.
	bare string
	// extensions are attributes after the nonce ("tokenauth=true" in Kafka).
	extensions map[string]string
}

// parseClientFirst parses "gs2-header client-first-message-bare".
func parseClientFirst(msg string) (clientFirst, error) {
	var cf clientFirst
	// gs2-cbind-flag: channel binding is not offered, so "p=" is refused.
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok || (flag != "n" && flag != "y") {
		return cf, fmt.Errorf("%w: client-first: channel binding flag %q", ErrMalformed, flag)
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return cf, fmt.Errorf("%w: client-first: no gs2 header end", ErrMalformed)
	}
	if authz != "" {
		v, ok := strings.CutPrefix(authz, "a=")
		if !ok {
			return cf, fmt.Errorf("%w: client-first: bad authzid field", ErrMalformed)
		}
		name, err := decodeSaslName(v)
		if err != nil {
			return cf, err
		}
		cf.authzid = name
	}
	cf.gs2Header = msg[:len(msg)-len(bare)]
	cf.bare = bare
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 {
		return cf, fmt.Errorf("%w: client-first: needs n= and r=", ErrMalformed)
	}
	if strings.HasPrefix(attrs[0], "m=") {
		return cf, fmt.Errorf("%w: client-first: mandatory extension not supported", ErrMalformed)
	}
	v, ok := strings.CutPrefix(attrs[0], "n=")
	if !ok {
		return cf, fmt.Errorf("%w: client-first: no user name", ErrMalformed)
	}
	user, err := decodeSaslName(v)
	if err != nil {
		return cf, err
	}
	if user == "" {
		return cf, fmt.Errorf("%w: client-first: empty user name", ErrMalformed)
	}
	cf.user = user
	nonce, ok := strings.CutPrefix(attrs[1], "r=")
	if !ok || !printableNonce(nonce) {
		return cf, fmt.Errorf("%w: client-first: bad nonce", ErrMalformed)
	}
	cf.nonce = nonce
	for _, a := range attrs[2:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return cf, fmt.Errorf("%w: client-first: bad extension %q", ErrMalformed, a)
		}
		if cf.extensions == nil {
			cf.extensions = map[string]string{}
		}
		cf.extensions[k] = v
	}
	return cf, nil
}

// clientFinal is the client-final-message.
type clientFinal struct {
	channelBinding []byte // decoded c= value: the gs2 header again
	nonce          string
	proof          []byte
	// withoutProof is the message up to ",p=", part of the AuthMessage.
	withoutProof string
}

// parseClientFinal parses "c=...,r=...[,ext...],p=...".
func parseClientFinal(msg string) (clientFinal, error) {
	var cf clientFinal
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return cf, fmt.Errorf("%w: client-final: no proof", ErrMalformed)
	}
	cf.withoutProof = msg[:i]
	proof, err := base64.StdEncoding.DecodeString(msg[i+3:])
	if err != nil || len(proof) == 0 {
		return cf, fmt.Errorf("%w: client-final: proof is not base64", ErrMalformed)
	}
	cf.proof = proof
	attrs := strings.Split(cf.withoutProof, ",")
	if len(attrs) < 2 {
		return cf, fmt.Errorf("%w: client-final: needs c= and r=", ErrMalformed)
	}
	cb, ok := strings.CutPrefix(attrs[0], "c=")
	if !ok {
		return cf, fmt.Errorf("%w: client-final: no channel binding", ErrMalformed)
	}
	if cf.channelBinding, err = base64.StdEncoding.DecodeString(cb); err != nil {
		return cf, fmt.Errorf("%w: client-final: channel binding is not base64", ErrMalformed)
	}
	nonce, ok := strings.CutPrefix(attrs[1], "r=")
	if !ok || !printableNonce(nonce) {
		return cf, fmt.Errorf("%w: client-final: bad nonce", ErrMalformed)
	}
	cf.nonce = nonce
	return cf, nil
}

// decodeSaslName undoes the saslname escaping: "=2C" is ',' and "=3D" is '=';
// any other '=' is an error.
func decodeSaslName(s string) (string, error) {
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", fmt.Errorf("%w: bad escape in sasl name", ErrMalformed)
		}
		i += 2
	}
	return b.String(), nil
}

// printableNonce: printable ASCII except ',' (RFC 5802 "printable").
func printableNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}
