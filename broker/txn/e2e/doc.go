// Package e2e holds end-to-end tests of idempotent producers, transactions and
// read_committed consumers: a real single-node broker on 127.0.0.1 behind a
// loopback proxy that can cut every connection, broker restarts, franz-go
// producers and consumers, and exactly-once read-process-write instances run as
// separate processes (the test binary re-executed) that are killed with SIGKILL.
// TestIdempotentProducerAcrossBrokerSIGKILL runs `tributary serve` as a process
// (platform/nodetest builds it when that test runs) so the broker can be
// SIGKILLed. The package has no code of its own; see the _test.go files.
package e2e
