// Package auth holds the broker's security primitives, free of any I/O on
// sockets or metadata: principals, the SASL mechanisms (PLAIN and
// SCRAM-SHA-256/512 as server-side conversations), SCRAM credentials (salted
// and hashed, never the password), Kafka-style ACLs with the authorizer that
// evaluates them, and TLS server configuration with certificate reload.
//
// The wire server (broker/kafka) drives a Mechanism one SaslAuthenticate
// message at a time and asks an Authorizer before serving each request; the
// metadata state machine (broker/cluster) stores Credential and ACL values so
// they replicate with the rest of the metadata.
//
// Failure messages never say whether the user or the password was wrong: an
// unknown user runs the same SCRAM exchange against a made-up credential and
// fails at the same step as a wrong password.
//
// This package imports nothing of ours; it must not import broker/kafka,
// broker/cluster, platform, or anything above the broker.
package auth
