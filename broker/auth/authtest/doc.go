// Package authtest makes the certificates that security tests need: a test
// certificate authority written as PEM files under a temporary folder, server
// and client certificates it signs for a common name (server certificates
// name 127.0.0.1 and localhost), a client TLS configuration trusting it, and
// self-signed pairs for tests of certificate reload.
//
// Only tests import it. Every helper takes a testing.TB and fails the test on
// an error, so callers check nothing. Keys are ECDSA P-256: cheap to make
// under the race detector.
//
// It imports nothing of this module, so a test of any package, broker/auth
// itself included, may import it without a cycle.
package authtest
