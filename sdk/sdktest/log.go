package sdktest

import "log/slog"

// testLogger is the logger instances get in-process: discarded, because a
// test's output should show its failures, not a plugin's chatter.
func testLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
