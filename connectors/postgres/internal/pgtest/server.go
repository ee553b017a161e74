package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotInstalled says that no PostgreSQL server binaries were found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; install the Debian package `postgresql`, or run .ci/install-deps.sh, or set TRIBUTARY_PG_BIN to a bin directory)")

// Superuser and Password are the credentials of the superuser every server
// is created with; connections use password (SCRAM) authentication over TCP.
const (
	Superuser = "postgres"
	Password  = "tributary-test-password"
)

// testUser is the system user servers run as when the tests run as root:
// PostgreSQL refuses to run as root.
const testUser = "tributary-test"

// Options configures a server.
type Options struct {
	// WalLevel is the wal_level setting. Default "logical".
	WalLevel string
	// Settings are extra postgresql.conf settings passed with -c.
	Settings map[string]string
}

// Server is one running PostgreSQL cluster in a temporary directory.
type Server struct {
	// Host and Port are where the server listens (127.0.0.1, a free port).
	Host string
	Port int
	// Version is the server's major version, like "15".
	Version string

	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the postmaster exited
	err  error         // the postmaster's exit status, set before done closes
	dbs  atomic.Int64  // databases created by NewDatabase, for unique names
}

// BinDir returns the directory holding initdb and postgres: TRIBUTARY_PG_BIN,
// or the newest /usr/lib/postgresql/<version>/bin.
func BinDir() (string, error) {
	if d := os.Getenv("TRIBUTARY_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("pgtest: TRIBUTARY_PG_BIN=%s: %w", d, err)
		}
		return d, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", ErrNotInstalled
	}
	version := func(p string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
		return n
	}
	sort.Slice(found, func(i, j int) bool { return version(found[i]) > version(found[j]) })
	return filepath.Dir(found[0]), nil
}

// Start creates a cluster with initdb in a new temporary directory and
// starts it. The caller stops it with Stop.
func Start(opts Options) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if opts.WalLevel == "" {
		opts.WalLevel = "logical"
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{Host: "127.0.0.1", Version: filepath.Base(filepath.Dir(bin)), dir: dir, done: make(chan struct{})}
	if err := s.initdb(bin, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A port that was free a moment ago can be taken by the time the server
	// binds it; try a few.
	for attempt := 0; ; attempt++ {
		err = s.start(bin, cred, opts)
		if err == nil || attempt == 2 {
			break
		}
		s.done = make(chan struct{})
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) initdb(bin string, cred *syscall.Credential) error {
	pwfile := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := chownAll(s.dir, cred); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(s.dir, "data"), "-U", Superuser,
		"--pwfile="+pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")
	cmd.SysProcAttr = sysProcAttr(cred)
	cmd.Dir = s.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	return nil
}

func (s *Server) start(bin string, cred *syscall.Credential, opts Options) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	settings := map[string]string{
		"listen_addresses":        s.Host,
		"port":                    strconv.Itoa(port),
		"unix_socket_directories": s.dir,
		"wal_level":               opts.WalLevel,
		"max_replication_slots":   "64",
		"max_wal_senders":         "64",
		"max_connections":         "200",
		// The tests kill plugins, never the server: durability settings
		// only cost time here.
		"fsync":              "off",
		"synchronous_commit": "off",
		"full_page_writes":   "off",
		"log_min_messages":   "warning",
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	args := []string{"-D", filepath.Join(s.dir, "data")}
	for k, v := range settings {
		args = append(args, "-c", k+"="+v)
	}
	logf, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close() // the child keeps its own descriptor
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = sysProcAttr(cred)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s.cmd = cmd
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	// Poll until it accepts connections, it exits, or the deadline passes.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgconn.Connect(ctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("pgtest: postgres exited (%v) while starting:\n%s", s.err, s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("pgtest: postgres did not accept connections in time (%v):\n%s", err, s.logTail())
		}
	}
}

func (s *Server) logPath() string { return filepath.Join(s.dir, "postgres.log") }

// logTail returns the end of the server's log, for error messages.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath())
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// kill stops the postmaster at once and waits for it.
func (s *Server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Stop shuts the server down (fast shutdown, then a kill after a timeout)
// and removes its directory.
func (s *Server) Stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.kill()
	}
	return os.RemoveAll(s.dir)
}

// DSN returns a keyword/value connection string for database db as the
// superuser, over TCP with the password.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable connect_timeout=10", s.Host, s.Port, Superuser, Password, db)
}

// ConnectorConfig returns the connection fields of the postgres connector's
// config for database db.
func (s *Server) ConnectorConfig(db string) map[string]string {
	return map[string]string{
		"host": s.Host, "port": strconv.Itoa(s.Port), "user": Superuser, "password": Password,
		"database": db, "sslmode": "disable",
	}
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// credential returns the user to run PostgreSQL as: nil (the current user)
// unless the tests run as root, then testUser, created when missing, or
// nobody when it cannot be created.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(testUser)
	if err != nil {
		// Several test binaries may race to create it; look again after.
		out, addErr := exec.Command("useradd", "--system", "--no-create-home", "--user-group",
			"--shell", "/usr/sbin/nologin", testUser).CombinedOutput()
		u, err = user.Lookup(testUser)
		if err != nil {
			if u, err = user.Lookup("nobody"); err != nil {
				return nil, fmt.Errorf("pgtest: running as root and no user to run PostgreSQL as: useradd %s: %v %s", testUser, addErr, bytes.TrimSpace(out))
			}
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: user %s: %w", u.Username, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// chownAll gives dir and everything in it to cred's user.
func chownAll(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		return nil
	})
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
