package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// runGroup dispatches `tributary group <action>`.
func runGroup(ctx context.Context, c *cli, args []string) error {
	return dispatch(ctx, c, "group", args, []action{
		{"list", "list consumer groups", groupList},
		{"describe", "show members, committed offsets, end offsets and lag", groupDescribe},
		{"delete", "delete empty groups and their offsets", groupDelete},
		{"reset-offsets", "move an empty group's committed offsets", groupResetOffsets},
	})
}

// groupSummary is one row of `group list`.
type groupSummary struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocol_type"`
	Coordinator  int32  `json:"coordinator"`
}

func groupList(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "group list", "group list [--state STATE]...")
	cf := addClientFlags(fs, c)
	var states stringList
	fs.Var(&states, "state", "only groups in this `state` (Empty, Stable, PreparingRebalance, ...), repeatable")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	listed, err := adm.ListGroups(rctx, states...)
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	out := []groupSummary{}
	for _, g := range listed.Sorted() {
		out = append(out, groupSummary{Group: g.Group, State: g.State, ProtocolType: g.ProtocolType, Coordinator: g.Coordinator})
	}
	if cf.structured() {
		return cf.write(c.stdout, out)
	}
	rows := make([][]string, 0, len(out))
	for _, g := range out {
		rows = append(rows, []string{g.Group, g.State, dash(g.ProtocolType), itoa(g.Coordinator)})
	}
	return writeTable(c.stdout, []string{"GROUP", "STATE", "PROTOCOL-TYPE", "COORDINATOR"}, rows)
}

// groupDescription is what `group describe` prints for one group.
type groupDescription struct {
	Group        string            `json:"group"`
	State        string            `json:"state"`
	ProtocolType string            `json:"protocol_type"`
	Protocol     string            `json:"protocol"`
	Coordinator  int32             `json:"coordinator"`
	Members      []memberSummary   `json:"members"`
	Partitions   []partitionLag    `json:"partitions"`
	TotalLag     int64             `json:"total_lag"`
	Error        string            `json:"error,omitempty"`
	byMember     map[string]string // member id -> client id, for the table
}

type memberSummary struct {
	MemberID   string `json:"member_id"`
	InstanceID string `json:"instance_id,omitempty"`
	ClientID   string `json:"client_id"`
	Host       string `json:"host"`
	Partitions int    `json:"partitions"`
}

// partitionLag is one partition of a group: committed offset (-1 when none), end
// offset, lag (-1 when unknown) and the member consuming it.
type partitionLag struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
	MemberID  string `json:"member_id,omitempty"`
	Error     string `json:"error,omitempty"`
}

func groupDescribe(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "group describe", "group describe GROUP...")
	cf := addClientFlags(fs, c)
	groups, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(groups) == 0 {
		return usageErrorf("no group name given")
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	lags, err := adm.Lag(rctx, groups...)
	if err != nil {
		return fmt.Errorf("describe groups: %w", err)
	}
	var out []groupDescription
	var errs []error
	for _, name := range groups {
		l, ok := lags[name]
		if !ok {
			errs = append(errs, fmt.Errorf("group %q: no answer", name))
			continue
		}
		if err := l.Error(); err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			errs = append(errs, fmt.Errorf("group %q: %w", name, err))
			continue
		}
		if l.State == "Dead" || errors.Is(l.Error(), kerr.GroupIDNotFound) {
			errs = append(errs, fmt.Errorf("group %q: not found ('tributary group list' shows the groups)", name))
			continue
		}
		out = append(out, describeLag(l))
	}
	if len(out) == 0 {
		return errors.Join(errs...)
	}
	if cf.structured() {
		if err := cf.write(c.stdout, out); err != nil {
			return err
		}
		return errors.Join(errs...)
	}
	for i, d := range out {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		fmt.Fprintf(c.stdout, "group %s: state %s, protocol %s/%s, coordinator %d, %d members, total lag %d\n",
			d.Group, d.State, dash(d.ProtocolType), dash(d.Protocol), d.Coordinator, len(d.Members), d.TotalLag)
		rows := make([][]string, 0, len(d.Partitions))
		for _, p := range d.Partitions {
			committed, lag := itoa(p.Committed), itoa(p.Lag)
			if p.Committed < 0 {
				committed = "-"
			}
			if p.Lag < 0 {
				lag = "-"
			}
			rows = append(rows, []string{p.Topic, itoa(p.Partition), committed, itoa(p.End), lag, dash(p.MemberID), dash(d.byMember[p.MemberID])})
		}
		if err := writeTable(c.stdout, []string{"TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER", "CLIENT-ID"}, rows); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// describeLag turns kadm's view into what we print.
func describeLag(l kadm.DescribedGroupLag) groupDescription {
	d := groupDescription{
		Group: l.Group, State: l.State, ProtocolType: l.ProtocolType, Protocol: l.Protocol,
		Coordinator: l.Coordinator.NodeID, Members: []memberSummary{}, Partitions: []partitionLag{},
		byMember: map[string]string{},
	}
	for _, m := range l.Members {
		ms := memberSummary{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
		if m.InstanceID != nil {
			ms.InstanceID = *m.InstanceID
		}
		if ca, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range ca.Topics {
				ms.Partitions += len(t.Partitions)
			}
		}
		d.byMember[m.MemberID] = m.ClientID
		d.Members = append(d.Members, ms)
	}
	for _, ml := range l.Lag.Sorted() {
		p := partitionLag{Topic: ml.Topic, Partition: ml.Partition, Committed: ml.Commit.At, End: ml.End.Offset, Lag: ml.Lag}
		if ml.Member != nil {
			p.MemberID = ml.Member.MemberID
		}
		if ml.Err != nil {
			p.Error = ml.Err.Error()
		}
		if p.Lag > 0 {
			d.TotalLag += p.Lag
		}
		d.Partitions = append(d.Partitions, p)
	}
	return d
}

func groupDelete(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "group delete", "group delete GROUP...")
	cf := addClientFlags(fs, c)
	groups, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(groups) == 0 {
		return usageErrorf("no group name given")
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	resps, err := adm.DeleteGroups(rctx, groups...)
	if err != nil {
		return fmt.Errorf("delete groups: %w", err)
	}
	type deleted struct {
		Group  string `json:"group"`
		Action string `json:"action"`
	}
	out := []deleted{}
	var errs []error
	for _, g := range groups {
		r, ok := resps[g]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("group %q: no answer", g))
		case r.Err != nil:
			errs = append(errs, fmt.Errorf("group %q: %w", g, r.Err))
		default:
			out = append(out, deleted{Group: g, Action: "deleted"})
		}
	}
	if cf.structured() {
		if err := cf.write(c.stdout, out); err != nil {
			return err
		}
	} else {
		for _, d := range out {
			fmt.Fprintf(c.stdout, "deleted group %q\n", d.Group)
		}
	}
	return errors.Join(errs...)
}

// dash prints "-" for an empty cell.
func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
