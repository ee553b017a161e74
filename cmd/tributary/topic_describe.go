package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// topicDescription is what `topic describe` prints for one topic.
type topicDescription struct {
	Topic             string                 `json:"topic"`
	ID                string                 `json:"id,omitempty"`
	Internal          bool                   `json:"internal"`
	ReplicationFactor int                    `json:"replication_factor"`
	Partitions        []partitionDescription `json:"partitions"`
	Configs           []configEntry          `json:"configs"`
}

type partitionDescription struct {
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leader_epoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	StartOffset int64   `json:"start_offset"`
	EndOffset   int64   `json:"end_offset"`
	Error       string  `json:"error,omitempty"`
}

type configEntry struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

func topicDescribe(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "topic describe", "topic describe NAME... [--all-configs]")
	cf := addClientFlags(fs, c)
	all := fs.Bool("all-configs", false, "list every config, not only the topic's overrides")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(names) == 0 {
		return usageErrorf("no topic name given")
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()

	details, err := adm.ListTopicsWithInternal(rctx, names...)
	if err != nil {
		return fmt.Errorf("describe topics: %w", err)
	}
	var errs []error
	var found []string
	for _, n := range names {
		d, ok := details[n]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("topic %q: not found ('tributary topic list' shows the topics)", n))
		case d.Err != nil:
			errs = append(errs, fmt.Errorf("topic %q: %w", n, d.Err))
		default:
			found = append(found, n)
		}
	}
	if len(found) == 0 {
		return errors.Join(errs...)
	}
	starts, err := adm.ListStartOffsets(rctx, found...)
	if err != nil {
		return fmt.Errorf("list start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(rctx, found...)
	if err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	configs, err := adm.DescribeTopicConfigs(rctx, found...)
	if err != nil {
		return fmt.Errorf("describe configs: %w", err)
	}

	out := make([]topicDescription, 0, len(found))
	for _, n := range found {
		d := details[n]
		td := topicDescription{Topic: n, ID: topicID(d.ID), Internal: d.IsInternal,
			ReplicationFactor: d.Partitions.NumReplicas(), Partitions: []partitionDescription{}, Configs: []configEntry{}}
		for _, p := range d.Partitions.Sorted() {
			pd := partitionDescription{Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
				Replicas: nonNil(p.Replicas), ISR: nonNil(p.ISR), StartOffset: -1, EndOffset: -1}
			if p.Err != nil {
				pd.Error = p.Err.Error()
			}
			if o, ok := starts.Lookup(n, p.Partition); ok && o.Err == nil {
				pd.StartOffset = o.Offset
			}
			if o, ok := ends.Lookup(n, p.Partition); ok && o.Err == nil {
				pd.EndOffset = o.Offset
			}
			td.Partitions = append(td.Partitions, pd)
		}
		rc, err := configs.On(n, nil)
		if err == nil {
			err = rc.Err
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("topic %q configs: %w", n, brokerErr(err, rc.ErrMessage)))
		}
		for _, cfg := range rc.Configs {
			if !*all && !isOverride(cfg) {
				continue
			}
			td.Configs = append(td.Configs, configEntry{Name: cfg.Key, Value: cfg.MaybeValue(), Source: cfg.Source.String()})
		}
		out = append(out, td)
	}
	if cf.structured() {
		if err := cf.write(c.stdout, out); err != nil {
			return err
		}
	} else if err := printDescriptions(c, out); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// isOverride reports whether a config was set on the topic itself.
func isOverride(cfg kadm.Config) bool {
	return cfg.Source == kmsg.ConfigSourceDynamicTopicConfig
}

func printDescriptions(c *cli, out []topicDescription) error {
	for i, td := range out {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		fmt.Fprintf(c.stdout, "Topic: %s\tID: %s\tPartitions: %d\tReplication factor: %d\n",
			td.Topic, td.ID, len(td.Partitions), td.ReplicationFactor)
		header := []string{"PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "START", "END"}
		withErrors := slices.ContainsFunc(td.Partitions, func(p partitionDescription) bool { return p.Error != "" })
		if withErrors {
			header = append(header, "ERROR")
		}
		rows := make([][]string, 0, len(td.Partitions))
		for _, p := range td.Partitions {
			row := []string{itoa(p.Partition), itoa(p.Leader), itoa(p.LeaderEpoch),
				joinInts(p.Replicas), joinInts(p.ISR), itoa(p.StartOffset), itoa(p.EndOffset)}
			if withErrors {
				row = append(row, p.Error)
			}
			rows = append(rows, row)
		}
		if err := writeTable(c.stdout, header, rows); err != nil {
			return err
		}
		if len(td.Configs) == 0 {
			fmt.Fprintln(c.stdout, "Configs: none set on the topic (broker defaults apply)")
			continue
		}
		fmt.Fprintln(c.stdout)
		rows = rows[:0]
		for _, cfg := range td.Configs {
			rows = append(rows, []string{cfg.Name, cfg.Value, cfg.Source})
		}
		if err := writeTable(c.stdout, []string{"CONFIG", "VALUE", "SOURCE"}, rows); err != nil {
			return err
		}
	}
	return nil
}

func nonNil(xs []int32) []int32 {
	if xs == nil {
		return []int32{}
	}
	return xs
}
