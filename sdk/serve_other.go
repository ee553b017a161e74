//go:build !unix

package sdk

import "log/slog"

// watchHost is a no-op where the host cannot pass a pipe; go-plugin's own
// cleanup is all there is.
func watchHost(*slog.Logger) error { return nil }
