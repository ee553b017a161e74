package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// runACL dispatches `tributary acl <action>` on CreateAcls, DeleteAcls and
// DescribeAcls.
func runACL(ctx context.Context, c *cli, args []string) error {
	return dispatch(ctx, c, "acl", args, []action{
		{"add", "allow (or --deny) principals operations on resources", aclAdd},
		{"remove", "remove the ACLs matching the flags", aclRemove},
		{"list", "list the ACLs matching the flags (all without flags)", aclList},
	})
}

// aclFlags are the resource, principal and operation flags of acl commands.
type aclFlags struct {
	principals, operations, topics, groups, txnIDs stringList
	cluster, prefixed, deny                        bool
	host                                           string
}

func addACLFlags(fs *flag.FlagSet) *aclFlags {
	f := &aclFlags{}
	fs.Var(&f.principals, "principal", "`principal` such as User:alice or User:* (repeatable)")
	fs.Var(&f.operations, "operation", "`operation`: read, write, create, delete, alter, describe, describe_configs, alter_configs, idempotent_write, cluster_action, all (repeatable or comma-separated)")
	fs.Var(&f.topics, "topic", "topic `name` (repeatable)")
	fs.Var(&f.groups, "group", "consumer group `name` (repeatable)")
	fs.Var(&f.txnIDs, "transactional-id", "transactional `id` (repeatable)")
	fs.BoolVar(&f.cluster, "cluster", false, "the cluster resource")
	fs.BoolVar(&f.prefixed, "prefixed", false, "names are prefixes (PREFIXED pattern) instead of literal names")
	fs.BoolVar(&f.deny, "deny", false, "a DENY entry instead of ALLOW")
	fs.StringVar(&f.host, "host", "", "client `host` (IP) the entry applies to; add: default *, remove/list: any")
	return f
}

func (f *aclFlags) ops(filter bool) ([]kadm.ACLOperation, error) {
	var out []kadm.ACLOperation
	for _, list := range f.operations {
		for _, o := range strings.Split(list, ",") {
			op, err := kmsg.ParseACLOperation(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(o)), "-", "_"))
			if err != nil {
				return nil, usageErrorf("--operation %q: %v", o, err)
			}
			out = append(out, op)
		}
	}
	if len(out) == 0 && !filter {
		return nil, usageErrorf("--operation is required")
	}
	return out, nil
}

// builder returns the kadm builder for the flags; filter builds a match for
// remove/list, where missing flags match anything.
func (f *aclFlags) builder(filter bool) (*kadm.ACLBuilder, error) {
	ops, err := f.ops(filter)
	if err != nil {
		return nil, err
	}
	b := kadm.NewACLs()
	hasResource := len(f.topics) > 0 || len(f.groups) > 0 || len(f.txnIDs) > 0 || f.cluster
	if !filter {
		if !hasResource {
			return nil, usageErrorf("name a resource: --topic, --group, --transactional-id or --cluster")
		}
		if len(f.principals) == 0 {
			return nil, usageErrorf("--principal is required")
		}
	}
	if len(f.topics) > 0 {
		b.Topics(f.topics...)
	}
	if len(f.groups) > 0 {
		b.Groups(f.groups...)
	}
	if len(f.txnIDs) > 0 {
		b.TransactionalIDs(f.txnIDs...)
	}
	if f.cluster {
		b.Clusters()
	}
	if filter && !hasResource {
		b.AnyResource()
	}
	var hosts []string
	if f.host != "" {
		hosts = []string{f.host}
	} else if !filter {
		hosts = []string{"*"}
	}
	switch {
	case !filter && f.deny:
		b.Deny(f.principals...).DenyHosts(hosts...)
	case !filter:
		b.Allow(f.principals...).AllowHosts(hosts...)
	case f.deny:
		b.Deny(f.principals...).DenyHosts(hosts...)
	default:
		// Either permission matches unless --deny narrows it.
		b.Allow(f.principals...).AllowHosts(hosts...).Deny(f.principals...).DenyHosts(hosts...)
	}
	if len(ops) > 0 {
		b.Operations(ops...)
	} else {
		b.Operations()
	}
	switch {
	case f.prefixed:
		b.ResourcePatternType(kadm.ACLPatternPrefixed)
	case filter:
		b.ResourcePatternType(kadm.ACLPatternAny)
	default:
		b.ResourcePatternType(kadm.ACLPatternLiteral)
	}
	return b, nil
}

// aclRow is one ACL as the commands print it.
type aclRow struct {
	Principal  string `json:"principal"`
	Host       string `json:"host"`
	Resource   string `json:"resource_type"`
	Name       string `json:"resource_name"`
	Pattern    string `json:"pattern"`
	Operation  string `json:"operation"`
	Permission string `json:"permission"`
}

func (r aclRow) cells() []string {
	return []string{r.Principal, r.Host, r.Resource, r.Name, r.Pattern, r.Operation, r.Permission}
}

func aclHeader() []string {
	return []string{"PRINCIPAL", "HOST", "RESOURCE", "NAME", "PATTERN", "OPERATION", "PERMISSION"}
}

func printACLs(c *cli, cf *clientFlags, rows []aclRow) error {
	if cf.structured() {
		if rows == nil {
			rows = []aclRow{}
		}
		return cf.write(c.stdout, rows)
	}
	table := make([][]string, 0, len(rows))
	for _, r := range rows {
		table = append(table, r.cells())
	}
	return writeTable(c.stdout, aclHeader(), table)
}

func aclCommand(c *cli, name string, args []string, filter bool) (*clientFlags, *kadm.ACLBuilder, error) {
	fs := newFlagSet(c, "acl "+name, "acl "+name+" [--principal P] [--operation OP] [--topic T | --group G | --transactional-id X | --cluster] [--prefixed] [--deny] [--host H]")
	cf := addClientFlags(fs, c)
	af := addACLFlags(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := cf.check(); err != nil {
		return nil, nil, err
	}
	if len(rest) > 0 {
		return nil, nil, usageErrorf("unexpected argument %q", rest[0])
	}
	b, err := af.builder(filter)
	return cf, b, err
}

func aclAdd(ctx context.Context, c *cli, args []string) error {
	cf, b, err := aclCommand(c, "add", args, false)
	if err != nil {
		return err
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	res, err := adm.CreateACLs(rctx, b)
	if err != nil {
		return fmt.Errorf("create acls: %w", err)
	}
	var rows []aclRow
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("create acl %s %s %s:%s: %w %s", r.Permission, r.Principal, r.Type, r.Name, r.Err, r.ErrMessage)
		}
		rows = append(rows, aclRow{r.Principal, r.Host, r.Type.String(), r.Name, r.Pattern.String(), r.Operation.String(), r.Permission.String()})
	}
	return printACLs(c, cf, rows)
}

func aclRemove(ctx context.Context, c *cli, args []string) error {
	cf, b, err := aclCommand(c, "remove", args, true)
	if err != nil {
		return err
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	res, err := adm.DeleteACLs(rctx, b)
	if err != nil {
		return fmt.Errorf("delete acls: %w", err)
	}
	var rows []aclRow
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("delete acls: %w %s", r.Err, r.ErrMessage)
		}
		for _, d := range r.Deleted {
			rows = append(rows, aclRow{d.Principal, d.Host, d.Type.String(), d.Name, d.Pattern.String(), d.Operation.String(), d.Permission.String()})
		}
	}
	return printACLs(c, cf, rows)
}

func aclList(ctx context.Context, c *cli, args []string) error {
	cf, b, err := aclCommand(c, "list", args, true)
	if err != nil {
		return err
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	res, err := adm.DescribeACLs(rctx, b)
	if err != nil {
		return fmt.Errorf("describe acls: %w", err)
	}
	seen := map[aclRow]bool{}
	var rows []aclRow
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("describe acls: %w %s", r.Err, r.ErrMessage)
		}
		for _, d := range r.Described {
			row := aclRow{d.Principal, d.Host, d.Type.String(), d.Name, d.Pattern.String(), d.Operation.String(), d.Permission.String()}
			if !seen[row] {
				seen[row] = true
				rows = append(rows, row)
			}
		}
	}
	return printACLs(c, cf, rows)
}
