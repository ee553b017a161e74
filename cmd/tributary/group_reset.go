package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// offsetReset is one partition of `group reset-offsets`.
type offsetReset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Old       int64  `json:"old"` // -1 when nothing was committed
	New       int64  `json:"new"`
}

// resetTarget is how reset-offsets picks the new offset of a partition.
type resetTarget struct {
	earliest, latest bool
	datetime         string
	shiftBy          int64
	shift            bool
}

func groupResetOffsets(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "group reset-offsets",
		"group reset-offsets GROUP (--topic T[:P,P...]... | --all-topics) (--to-earliest | --to-latest | --to-datetime TS | --shift-by N) [--dry-run]")
	cf := addClientFlags(fs, c)
	var topics stringList
	fs.Var(&topics, "topic", "`topic` to reset, optionally with partitions (orders:0,2), repeatable")
	allTopics := fs.Bool("all-topics", false, "reset every partition the group has committed")
	var tgt resetTarget
	fs.BoolVar(&tgt.earliest, "to-earliest", false, "reset to the log start offset")
	fs.BoolVar(&tgt.latest, "to-latest", false, "reset to the log end offset")
	fs.StringVar(&tgt.datetime, "to-datetime", "", "reset to the first offset at or after `time` (RFC 3339 or Unix ms)")
	shift := fs.String("shift-by", "", "move the committed offset by `n` (negative goes back)")
	dryRun := fs.Bool("dry-run", false, "print the new offsets without committing them")
	progressMode := addProgressFlag(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if err := checkProgress(*progressMode); err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("want exactly one group name, got %d", len(rest))
	}
	group := rest[0]
	if *shift != "" {
		n, err := strconv.ParseInt(*shift, 10, 64)
		if err != nil {
			return usageErrorf("--shift-by %q: want an integer", *shift)
		}
		tgt.shift, tgt.shiftBy = true, n
	}
	var ms int64
	if tgt.datetime != "" {
		if ms, err = parseTimestamp(tgt.datetime); err != nil {
			return usageErrorf("--to-datetime %v", err)
		}
	}
	n := 0
	for _, set := range []bool{tgt.earliest, tgt.latest, tgt.datetime != "", tgt.shift} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usageErrorf("give exactly one of --to-earliest, --to-latest, --to-datetime, --shift-by")
	}
	if (len(topics) == 0) == !*allTopics {
		return usageErrorf("give --topic or --all-topics")
	}

	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()

	// The steps: describe the group, fetch its offsets, find the
	// partitions, list start and end offsets (and by time), commit.
	steps := int64(6)
	if tgt.datetime != "" {
		steps++
	}
	bar := newProgress(c, *progressMode, "reset-offsets "+group, steps)
	defer bar.Finish()
	bar.Set(0, "describe group")
	described, err := adm.DescribeGroups(rctx, group)
	if err != nil {
		return fmt.Errorf("describe group %q: %w", group, err)
	}
	// A group that does not exist yet may get offsets: it starts there.
	if d := described[group]; d.Err != nil && !errors.Is(d.Err, kerr.GroupIDNotFound) {
		return fmt.Errorf("describe group %q: %w", group, d.Err)
	} else if d.Err == nil && d.State != "Empty" && d.State != "Dead" {
		return fmt.Errorf("group %q is %s: offsets can only be reset while it has no members; stop its consumers first", group, d.State)
	}
	bar.Step("fetch committed offsets")
	committed, err := adm.FetchOffsets(rctx, group)
	if err != nil {
		return fmt.Errorf("fetch offsets of %q: %w", group, err)
	}
	bar.Step("find partitions")
	parts, err := resetPartitions(rctx, adm, topics, *allTopics, committed)
	if err != nil {
		return err
	}
	names := sortedKeys(parts)
	bar.Step(fmt.Sprintf("list start offsets of %d topics", len(names)))
	starts, err := adm.ListStartOffsets(rctx, names...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("list start offsets: %w", err)
	}
	bar.Step("list end offsets")
	ends, err := adm.ListEndOffsets(rctx, names...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	var byTime kadm.ListedOffsets
	if tgt.datetime != "" {
		bar.Step("list offsets by time")
		if byTime, err = adm.ListOffsetsAfterMilli(rctx, ms, names...); err == nil {
			err = byTime.Error()
		}
		if err != nil {
			return fmt.Errorf("list offsets after %s: %w", tgt.datetime, err)
		}
	}

	var out []offsetReset
	var commit kadm.Offsets
	for _, topic := range names {
		for _, p := range parts[topic] {
			start, _ := starts.Lookup(topic, p)
			end, _ := ends.Lookup(topic, p)
			r := offsetReset{Topic: topic, Partition: p, Old: -1}
			if o, ok := committed.Lookup(topic, p); ok && o.Err == nil && o.At >= 0 {
				r.Old = o.At
			}
			switch {
			case tgt.earliest:
				r.New = start.Offset
			case tgt.latest:
				r.New = end.Offset
			case tgt.datetime != "":
				r.New = end.Offset
				if o, ok := byTime.Lookup(topic, p); ok && o.Offset >= 0 {
					r.New = o.Offset
				}
			case tgt.shift:
				if r.Old < 0 {
					return fmt.Errorf("cannot shift %s/%d: the group has no committed offset there", topic, p)
				}
				r.New = min(max(r.Old+tgt.shiftBy, start.Offset), end.Offset)
			}
			out = append(out, r)
			commit.Add(kadm.Offset{Topic: topic, Partition: p, At: r.New, LeaderEpoch: -1})
		}
	}
	bar.Step(fmt.Sprintf("commit %d partitions", len(out)))
	if !*dryRun && len(out) > 0 {
		resps, err := adm.CommitOffsets(rctx, group, commit)
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			return fmt.Errorf("commit new offsets of %q: %w", group, err)
		}
	}
	bar.Step("done")
	bar.Finish()
	if cf.structured() {
		type result struct {
			Group      string        `json:"group"`
			DryRun     bool          `json:"dry_run"`
			Partitions []offsetReset `json:"partitions"`
		}
		if out == nil {
			out = []offsetReset{}
		}
		return cf.write(c.stdout, result{Group: group, DryRun: *dryRun, Partitions: out})
	}
	rows := make([][]string, 0, len(out))
	for _, r := range out {
		old := itoa(r.Old)
		if r.Old < 0 {
			old = "-"
		}
		rows = append(rows, []string{r.Topic, itoa(r.Partition), old, itoa(r.New)})
	}
	if err := writeTable(c.stdout, []string{"TOPIC", "PARTITION", "OLD", "NEW"}, rows); err != nil {
		return err
	}
	if *dryRun {
		fmt.Fprintln(c.stdout, "dry run: nothing was committed")
	}
	return nil
}

// resetPartitions returns the partitions to reset per topic: the named ones
// (all of a topic's when none are named), or every committed one.
func resetPartitions(ctx context.Context, adm *kadm.Client, topics []string, all bool, committed kadm.OffsetResponses) (map[string][]int32, error) {
	out := map[string][]int32{}
	if all {
		committed.Each(func(o kadm.OffsetResponse) {
			if o.Err == nil && o.At >= 0 {
				out[o.Topic] = append(out[o.Topic], o.Partition)
			}
		})
		if len(out) == 0 {
			return nil, errors.New("the group has no committed offsets: name the topics with --topic")
		}
	} else {
		var names []string
		named := map[string][]int32{}
		for _, spec := range topics {
			topic, list, hasList := strings.Cut(spec, ":")
			names = append(names, topic)
			if !hasList {
				continue
			}
			for _, s := range strings.Split(list, ",") {
				p, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
				if err != nil || p < 0 {
					return nil, usageErrorf("--topic %q: bad partition %q", spec, s)
				}
				named[topic] = append(named[topic], int32(p))
			}
		}
		details, err := adm.ListTopics(ctx, names...)
		if err != nil {
			return nil, fmt.Errorf("describe topics: %w", err)
		}
		for _, topic := range names {
			d, ok := details[topic]
			if !ok || d.Err != nil {
				return nil, fmt.Errorf("topic %q: not found", topic)
			}
			if ps, ok := named[topic]; ok {
				for _, p := range ps {
					if _, ok := d.Partitions[p]; !ok {
						return nil, fmt.Errorf("topic %q has no partition %d", topic, p)
					}
				}
				out[topic] = append(out[topic], ps...)
			} else {
				out[topic] = d.Partitions.Numbers()
			}
		}
	}
	for t := range out {
		ps := out[t]
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		out[t] = slices.Compact(ps)
	}
	return out, nil
}
