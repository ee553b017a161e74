// Package sdktest runs connector plugins inside a Go test, with no
// subprocess and no gRPC, and holds the conformance suite every connector
// must pass.
//
// A plugin author's test usually has two parts:
//
//	func TestConformance(t *testing.T) {
//		sdktest.RunSourceSuite(t, sdktest.Local(myplugin.Plugin()), sdktest.SourceSuite{Setup: ...})
//	}
//
// plus unit tests that drive an instance directly with Open, ReadN and Close.
// The host's own tests run the same suites against plugins started as real
// processes (a Target backed by package plugins), so a plugin that passes
// in-process and over the wire behaves the same.
//
// sdktest imports only sdk (and the standard library).
package sdktest
