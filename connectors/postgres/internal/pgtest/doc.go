// Package pgtest runs a real PostgreSQL server for tests: the Debian
// `postgresql` package's binaries (/usr/lib/postgresql/<version>/bin),
// initdb into a temporary directory, started on a free loopback port with its
// socket in that directory, as a non-root user when the tests run as root.
//
// A test package starts one server in TestMain and shares it:
//
//	var pg pgtest.Main
//
//	func TestMain(m *testing.M) { os.Exit(pg.Run(m, pgtest.Options{})) }
//
//	func TestSomething(t *testing.T) {
//		srv := pg.Server(t)         // skips (or fails under CI=true) without PostgreSQL
//		db := srv.NewDatabase(t)    // a fresh database, dropped at cleanup
//		conn := srv.Connect(t, db)  // a pgconn connection, closed at cleanup
//		pgtest.Exec(t, conn, "CREATE TABLE ...")
//	}
//
// When PostgreSQL is not installed, Server skips the test with a message
// saying how to install it, except under CI=true where it fails: CI installs
// it (.ci/install-deps.sh) and a missing server there is a defect.
//
// pgtest imports pgx's pgconn and the standard library only.
package pgtest
