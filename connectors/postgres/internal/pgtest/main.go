package pgtest

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

// Main shares one server among the tests of a package: Run starts it around
// the package's tests and Server hands it to each test.
type Main struct {
	srv *Server
	err error
}

// Run starts a server with opts, runs the tests and stops the server. It
// returns the exit code for os.Exit. A server that cannot start does not
// stop the run: each test that asks for it fails (or skips when PostgreSQL
// is not installed and CI is not set).
func (m *Main) Run(tm *testing.M, opts Options) int {
	m.srv, m.err = Start(opts)
	code := tm.Run()
	if m.srv != nil {
		if err := m.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop:", err)
		}
	}
	return code
}

// Server returns the shared server. Without one it fails the test, or skips
// it when PostgreSQL is not installed outside CI.
func (m *Main) Server(t testing.TB) *Server {
	t.Helper()
	if m.srv != nil {
		return m.srv
	}
	Unavailable(t, m.err)
	return nil
}

// Unavailable ends the test for a server that could not start with err:
// a skip when PostgreSQL is not installed and CI is not "true", a failure
// otherwise.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		err = errors.New("pgtest: Main.Run was not called from TestMain")
	}
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip(err.Error())
	}
	t.Fatal(err)
}
