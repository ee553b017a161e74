// Package pluginpb is the gRPC protocol between the plugin host (package
// plugins) and plugin binaries built with the SDK (package sdk).
//
// plugin.proto is the source of truth; plugin.pb.go and plugin_grpc.pb.go are
// generated from it by `make proto` and committed, so building needs no protoc.
// handshake.go holds the constants both sides of the go-plugin handshake must
// agree on.
//
// The package imports nothing of this module: the host and the SDK both depend
// on it, and neither may depend on the other through it.
package pluginpb
