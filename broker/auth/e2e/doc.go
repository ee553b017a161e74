// Package e2e holds end-to-end security tests: a broker with PLAINTEXT, SSL,
// SASL_PLAINTEXT and SASL_SSL listeners (certificates made in the test with
// crypto/x509, loopback only), real clients (franz-go, kcat) authenticating
// with SCRAM and PLAIN, rejections, and the ACL matrix. It has no non-test code.
package e2e
