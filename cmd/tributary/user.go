package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// runUser dispatches `tributary user <action>`: SCRAM credentials through
// AlterUserScramCredentials and DescribeUserScramCredentials. The password is
// salted here; the broker receives only the salted password and keeps only
// keys derived from it.
func runUser(ctx context.Context, c *cli, args []string) error {
	return dispatch(ctx, c, "user", args, []action{
		{"create", "create a user or change its password (SCRAM-SHA-256 and -512)", userCreate},
		{"delete", "delete a user's SCRAM credentials", userDelete},
		{"list", "list users and their SCRAM mechanisms", userList},
	})
}

// userPasswordEnv carries the new user's password without a command-line flag.
const userPasswordEnv = "TRIBUTARY_USER_PASSWORD"

// parseMechanisms turns "SCRAM-SHA-256,SCRAM-SHA-512" into kadm mechanisms.
func parseMechanisms(s string) ([]kadm.ScramMechanism, error) {
	var out []kadm.ScramMechanism
	for _, m := range strings.Split(s, ",") {
		switch strings.ToUpper(strings.TrimSpace(m)) {
		case "SCRAM-SHA-256":
			out = append(out, kadm.ScramSha256)
		case "SCRAM-SHA-512":
			out = append(out, kadm.ScramSha512)
		default:
			return nil, usageErrorf("--mechanism %q: want SCRAM-SHA-256 and/or SCRAM-SHA-512", m)
		}
	}
	return out, nil
}

func userCreate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "user create", "user create NAME [--password P | env "+userPasswordEnv+"] [--mechanism M,...] [--iterations N]")
	cf := addClientFlags(fs, c)
	envPass, _ := c.env(userPasswordEnv)
	password := fs.String("password", envPass, "the user's `password` (env "+userPasswordEnv+")")
	mechs := fs.String("mechanism", "SCRAM-SHA-256,SCRAM-SHA-512", "SCRAM `mechanisms` to store")
	iterations := fs.Int("iterations", 8192, "PBKDF2 `iterations` (4096-16384)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("want exactly one user name")
	}
	if *password == "" {
		return usageErrorf("no password: pass --password or set %s", userPasswordEnv)
	}
	if *iterations < 4096 || *iterations > 16384 {
		return usageErrorf("--iterations %d: must be 4096-16384", *iterations)
	}
	ms, err := parseMechanisms(*mechs)
	if err != nil {
		return err
	}
	var ups []kadm.UpsertSCRAM
	for _, m := range ms {
		ups = append(ups, kadm.UpsertSCRAM{User: rest[0], Mechanism: m, Iterations: int32(*iterations), Password: *password})
	}
	return alterUsers(ctx, c, cf, nil, ups, "created")
}

func userDelete(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "user delete", "user delete NAME [--mechanism M,...]")
	cf := addClientFlags(fs, c)
	mechs := fs.String("mechanism", "", "only these SCRAM `mechanisms` (default: every one the user has)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("want exactly one user name")
	}
	var ms []kadm.ScramMechanism
	if *mechs != "" {
		if ms, err = parseMechanisms(*mechs); err != nil {
			return err
		}
	} else {
		adm, err := cf.newAdmin()
		if err != nil {
			return err
		}
		rctx, cancel := cf.requestContext(ctx)
		described, err := adm.DescribeUserSCRAMs(rctx, rest[0])
		cancel()
		adm.Close()
		if err != nil {
			return fmt.Errorf("describe user %s: %w", rest[0], err)
		}
		d, ok := described[rest[0]]
		if !ok || d.Err != nil {
			return fmt.Errorf("user %s has no SCRAM credentials", rest[0])
		}
		for _, ci := range d.CredInfos {
			ms = append(ms, ci.Mechanism)
		}
	}
	var dels []kadm.DeleteSCRAM
	for _, m := range ms {
		dels = append(dels, kadm.DeleteSCRAM{User: rest[0], Mechanism: m})
	}
	return alterUsers(ctx, c, cf, dels, nil, "deleted")
}

// alterUsers sends one AlterUserScramCredentials and reports per user.
func alterUsers(ctx context.Context, c *cli, cf *clientFlags, dels []kadm.DeleteSCRAM, ups []kadm.UpsertSCRAM, verb string) error {
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	res, err := adm.AlterUserSCRAMs(rctx, dels, ups)
	if err != nil {
		return fmt.Errorf("alter user credentials: %w", err)
	}
	type row struct {
		User  string `json:"user"`
		Error string `json:"error,omitempty"`
	}
	var rows []row
	var firstErr error
	for _, r := range res.Sorted() {
		rw := row{User: r.User}
		if r.Err != nil {
			rw.Error = r.Err.Error()
			if r.ErrMessage != "" {
				rw.Error += ": " + r.ErrMessage
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("user %s: %s", r.User, rw.Error)
			}
		}
		rows = append(rows, rw)
	}
	if cf.structured() {
		if err := cf.write(c.stdout, rows); err != nil {
			return err
		}
		return firstErr
	}
	for _, r := range rows {
		if r.Error == "" {
			fmt.Fprintf(c.stdout, "user %s %s\n", r.User, verb)
		}
	}
	return firstErr
}

func userList(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "user list", "user list [NAME...]")
	cf := addClientFlags(fs, c)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	described, err := adm.DescribeUserSCRAMs(rctx, rest...)
	if err != nil {
		return fmt.Errorf("describe users: %w", err)
	}
	type cred struct {
		Mechanism  string `json:"mechanism"`
		Iterations int32  `json:"iterations"`
	}
	type user struct {
		User        string `json:"user"`
		Credentials []cred `json:"credentials"`
		Error       string `json:"error,omitempty"`
	}
	var users []user
	var table [][]string
	for _, d := range described.Sorted() {
		u := user{User: d.User, Credentials: []cred{}}
		var ms []string
		for _, ci := range d.CredInfos {
			u.Credentials = append(u.Credentials, cred{Mechanism: ci.Mechanism.String(), Iterations: ci.Iterations})
			ms = append(ms, ci.Mechanism.String()+"("+strconv.Itoa(int(ci.Iterations))+")")
		}
		if d.Err != nil {
			u.Error = d.Err.Error()
		}
		users = append(users, u)
		table = append(table, []string{d.User, strings.Join(ms, ","), u.Error})
	}
	if cf.structured() {
		return cf.write(c.stdout, users)
	}
	return writeTable(c.stdout, []string{"USER", "MECHANISMS", "ERROR"}, table)
}
