package pgconnector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/sdk"
)

// connSettings are the connection fields of a config.
type connSettings struct {
	host, user, password, database, sslmode string
	port                                    int
	timeout                                 time.Duration
	appName                                 string
}

func connSettingsFrom(c sdk.Config, appName string) connSettings {
	return connSettings{
		host: c.String("host"), port: int(c.Int("port")), user: c.String("user"), password: c.String("password"),
		database: c.String("database"), sslmode: c.String("sslmode"), timeout: c.Duration("connect.timeout"),
		appName: appName,
	}
}

// sessionParams fix the text forms of values (see package pgtypes): the
// snapshot's and the stream's sessions print values the same way.
var sessionParams = map[string]string{
	"DateStyle":                   "ISO, YMD",
	"IntervalStyle":               "iso_8601",
	"TimeZone":                    "UTC",
	"extra_float_digits":          "3",
	"bytea_output":                "hex",
	"standard_conforming_strings": "on",
	"client_encoding":             "UTF8",
}

// pgconnConfig returns the pgconn configuration; replication opens a
// logical replication (walsender) session on the database.
func (s connSettings) pgconnConfig(replication bool) (*pgconn.Config, error) {
	kv := []string{
		"host=" + quoteConnValue(s.host), "port=" + strconv.Itoa(s.port), "user=" + quoteConnValue(s.user),
		"dbname=" + quoteConnValue(s.database), "sslmode=" + s.sslmode,
		"connect_timeout=" + strconv.Itoa(max(1, int(s.timeout.Seconds()))),
	}
	if s.password != "" {
		kv = append(kv, "password="+quoteConnValue(s.password))
	}
	cfg, err := pgconn.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		return nil, fmt.Errorf("connection settings: %w", err)
	}
	cfg.ConnectTimeout = s.timeout
	for k, v := range sessionParams {
		cfg.RuntimeParams[k] = v
	}
	cfg.RuntimeParams["application_name"] = s.appName
	if replication {
		cfg.RuntimeParams["replication"] = "database"
	}
	return cfg, nil
}

// connect opens a connection, turning the usual failures into errors that
// say what to fix.
func (s connSettings) connect(ctx context.Context, replication bool) (*pgconn.PgConn, error) {
	cfg, err := s.pgconnConfig(replication)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, s.explain(err, replication)
	}
	return conn, nil
}

func (s connSettings) explain(err error, replication bool) error {
	what := "connect to"
	if replication {
		what = "open a replication connection to"
	}
	where := fmt.Sprintf("PostgreSQL at %s:%d, database %q, user %q", s.host, s.port, s.database, s.user)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01":
			return fmt.Errorf("%s %s: the password was rejected: check the connector's password field (and the authentication method pg_hba.conf gives this client): %w", what, where, err)
		case "28000":
			if replication {
				return fmt.Errorf("%s %s: pg_hba.conf has no entry for replication connections from this client: add a line like `host replication %s <client address>/32 scram-sha-256` and reload PostgreSQL: %w", what, where, s.user, err)
			}
			return fmt.Errorf("%s %s: pg_hba.conf has no entry for this client: add a `host %s %s <client address>/32 scram-sha-256` line and reload PostgreSQL: %w", what, where, s.database, s.user, err)
		case "3D000":
			return fmt.Errorf("%s %s: the database does not exist: create it or fix the connector's database field: %w", what, where, err)
		case "42501":
			if replication {
				return fmt.Errorf("%s %s: the user may not replicate: run `ALTER ROLE %s WITH REPLICATION` (or use a superuser): %w", what, where, quoteIdent(s.user), err)
			}
			return fmt.Errorf("%s %s: permission denied: %w", what, where, err)
		case "53300":
			return fmt.Errorf("%s %s: too many connections: raise max_connections (or max_wal_senders for replication connections): %w", what, where, err)
		case "55000":
			if replication {
				return fmt.Errorf("%s %s: %s: set wal_level = logical in postgresql.conf and restart PostgreSQL: %w", what, where, pgErr.Message, err)
			}
		}
		return fmt.Errorf("%s %s: %w", what, where, err)
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) || strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("%s %s: the server cannot be reached: check host and port, and that PostgreSQL runs and listens there (listen_addresses): %w", what, where, err)
	}
	return fmt.Errorf("%s %s: %w", what, where, err)
}

// quoteConnValue quotes a value of a keyword/value connection string.
func quoteConnValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteLiteral quotes an SQL string literal (standard_conforming_strings is
// on in our sessions).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// exec runs SQL (simple protocol) and returns the first result's rows.
func exec(ctx context.Context, conn *pgconn.PgConn, sql string) ([][][]byte, error) {
	results, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return nil, nil
	}
	return results[0].Rows, nil
}

// query runs one statement with text parameters (extended protocol).
func query(ctx context.Context, conn *pgconn.PgConn, sql string, args ...string) ([][][]byte, error) {
	params := make([][]byte, len(args))
	for i, a := range args {
		params[i] = []byte(a)
	}
	res := conn.ExecParams(ctx, sql, params, nil, nil, nil).Read()
	return res.Rows, res.Err
}
