// Package nodetest runs the tributary binary as child processes of a Go
// test: it builds the binary (and connector plugins) once per test process,
// starts `tributary serve` nodes on 127.0.0.1 ports with a data dir of their
// own, waits until they are ready, stops, kills and restarts them, and shows
// their captured output when the test fails.
//
// A test package writes:
//
//	var bin *nodetest.Binary
//
//	func TestMain(m *testing.M) {
//		bin = nodetest.MustBuild(nodetest.Plugins("file"))
//		code := m.Run()
//		bin.Remove()
//		os.Exit(code)
//	}
//
//	func TestSomething(t *testing.T) {
//		n := bin.StartNode(t, nodetest.Flags("--worker-disabled"))
//		cl, _ := kgo.NewClient(kgo.SeedBrokers(n.Kafka()))
//		...
//		n.Kill()    // SIGKILL
//		n.Restart() // same ports and data dir, waits until ready again
//	}
//
// What it owns: building the binary (E2E_TRIBUTARY_BIN names a prebuilt one
// instead, for a tree whose CLI does not build at the moment or a faster edit
// loop), the lifetime of every process it starts (each is killed by
// t.Cleanup, and its output, plus a goroutine dump of one still running, is
// reported when the test failed), the environment of those processes (the
// test's own without TRIBUTARY_* variables, so a developer's settings cannot
// change what a test runs against, plus what EnvVars adds for a node), and
// picking free loopback addresses.
//
// A node's ports are free ones picked by the harness, retried on other ports
// when the start fails (another process may take a port between the pick and
// the bind), or fixed with Ports, as a cluster whose peers know each other's
// raft addresses needs: Launch every member, then WaitReady on each.
//
// What it does not own: Kafka clients, topics and assertions; each test
// package keeps its own helpers for those.
//
// nodetest imports no package of this module (it runs the binary; it does not
// link the server), so tests at any layer may use it; a layering rule keeps
// it that way, and keeps non-test code from importing it.
package nodetest
