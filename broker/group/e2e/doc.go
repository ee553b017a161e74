// Package e2e holds end-to-end tests of consumer groups: a real single-node broker
// on 127.0.0.1, franz-go and librdkafka (kcat) consumers, a consumer process killed
// with SIGKILL, broker restarts. The package has no code of its own; see the
// _test.go files.
package e2e
