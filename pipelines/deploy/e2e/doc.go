// Package e2e tests the worker runtime end to end: `tributary serve` and
// `tributary worker` run as separate processes with the file connector
// plugin, driven through `tributary apply` and the REST API, and checked
// by reading the topics with franz-go (read_committed).
package e2e
