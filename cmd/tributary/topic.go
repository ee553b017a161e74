package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// runTopic dispatches `tributary topic <action>`.
func runTopic(ctx context.Context, c *cli, args []string) error {
	return dispatch(ctx, c, "topic", args, []action{
		{"create", "create a topic", topicCreate},
		{"list", "list topics", topicList},
		{"describe", "show partitions, leaders, replicas, ISR, offsets and configs", topicDescribe},
		{"alter", "change configs or add partitions", topicAlter},
		{"delete", "delete topics", topicDelete},
	})
}

// topicResult is what create, alter and delete print, one per topic.
type topicResult struct {
	Topic             string `json:"topic"`
	ID                string `json:"id,omitempty"`
	Partitions        int32  `json:"partitions,omitempty"`
	ReplicationFactor int16  `json:"replication_factor,omitempty"`
	Action            string `json:"action"`
}

func topicCreate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "topic create", "topic create NAME [--partitions N] [--replication-factor R] [--config name=value]...")
	cf := addClientFlags(fs, c)
	partitions := fs.Int("partitions", -1, "number of partitions (-1: the broker's num.partitions)")
	rf := fs.Int("replication-factor", -1, "replicas per partition (-1: the broker's default.replication.factor)")
	var configs kvList
	fs.Var(&configs, "config", "topic config `name=value`, repeatable")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(names) != 1 {
		return usageErrorf("want exactly one topic name, got %d", len(names))
	}
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()
	cfgs := make(map[string]*string, len(configs.keys))
	for _, k := range configs.keys {
		v := configs.values[k]
		cfgs[k] = &v
	}
	resp, err := adm.CreateTopic(rctx, int32(*partitions), int16(*rf), cfgs, names[0])
	if err != nil {
		return fmt.Errorf("create topic %q: %w", names[0], brokerErr(err, resp.ErrMessage))
	}
	res := topicResult{Topic: resp.Topic, ID: topicID(resp.ID), Partitions: resp.NumPartitions,
		ReplicationFactor: resp.ReplicationFactor, Action: "created"}
	if cf.structured() {
		return cf.write(c.stdout, res)
	}
	fmt.Fprintf(c.stdout, "created topic %q (partitions %d, replication factor %d)\n",
		res.Topic, res.Partitions, res.ReplicationFactor)
	return nil
}

// topicSummary is one row of `topic list`.
type topicSummary struct {
	Topic             string `json:"topic"`
	ID                string `json:"id,omitempty"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	Internal          bool   `json:"internal"`
}

func topicList(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "topic list", "topic list [--internal]")
	cf := addClientFlags(fs, c)
	internal := fs.Bool("internal", false, "include internal topics (__consumer_offsets, ...)")
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
	list := adm.ListTopics
	if *internal {
		list = adm.ListTopicsWithInternal
	}
	details, err := list(rctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	out := []topicSummary{}
	for _, d := range details.Sorted() {
		if d.Err != nil {
			return fmt.Errorf("list topics: topic %q: %w", d.Topic, d.Err)
		}
		out = append(out, topicSummary{Topic: d.Topic, ID: topicID(d.ID), Partitions: len(d.Partitions),
			ReplicationFactor: d.Partitions.NumReplicas(), Internal: d.IsInternal})
	}
	if cf.structured() {
		return cf.write(c.stdout, out)
	}
	rows := make([][]string, 0, len(out))
	for _, t := range out {
		rows = append(rows, []string{t.Topic, itoa(t.Partitions), itoa(t.ReplicationFactor), t.ID})
	}
	return writeTable(c.stdout, []string{"TOPIC", "PARTITIONS", "REPLICATION", "ID"}, rows)
}

func topicAlter(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "topic alter", "topic alter NAME [--config name=value]... [--delete-config name]... [--partitions N]")
	cf := addClientFlags(fs, c)
	var set kvList
	var del stringList
	fs.Var(&set, "config", "set topic config `name=value`, repeatable")
	fs.Var(&del, "delete-config", "remove a topic config override `name` (back to the default), repeatable")
	partitions := fs.Int("partitions", 0, "grow the topic to this many partitions")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(names) != 1 {
		return usageErrorf("want exactly one topic name, got %d", len(names))
	}
	if len(set.keys) == 0 && len(del) == 0 && *partitions == 0 {
		return usageErrorf("nothing to alter: give --config, --delete-config or --partitions")
	}
	topic := names[0]
	adm, rctx, done, err := cf.admin(ctx)
	if err != nil {
		return err
	}
	defer done()

	var changes []string
	if len(set.keys) > 0 || len(del) > 0 {
		var alters []kadm.AlterConfig
		for _, k := range set.keys {
			v := set.values[k]
			alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &v})
			changes = append(changes, "set "+k+"="+v)
		}
		for _, k := range del {
			alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
			changes = append(changes, "deleted "+k)
		}
		resps, err := adm.AlterTopicConfigs(rctx, alters, topic)
		if err != nil {
			return fmt.Errorf("alter configs of %q: %w", topic, err)
		}
		r, err := resps.On(topic, nil)
		if err == nil {
			err = r.Err
		}
		if err != nil {
			return fmt.Errorf("alter configs of %q: %w", topic, brokerErr(err, r.ErrMessage))
		}
	}
	if *partitions != 0 {
		resps, err := adm.UpdatePartitions(rctx, *partitions, topic)
		if err != nil {
			return fmt.Errorf("set partitions of %q to %d: %w", topic, *partitions, err)
		}
		r, err := resps.On(topic, nil)
		if err == nil {
			err = r.Err
		}
		if err != nil {
			return fmt.Errorf("set partitions of %q to %d: %w", topic, *partitions, brokerErr(err, r.ErrMessage))
		}
		changes = append(changes, fmt.Sprintf("partitions=%d", *partitions))
	}
	if cf.structured() {
		return cf.write(c.stdout, struct {
			Topic   string   `json:"topic"`
			Action  string   `json:"action"`
			Changes []string `json:"changes"`
		}{topic, "altered", changes})
	}
	fmt.Fprintf(c.stdout, "altered topic %q: %s\n", topic, strings.Join(changes, ", "))
	return nil
}

func topicDelete(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "topic delete", "topic delete NAME...")
	cf := addClientFlags(fs, c)
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
	resps, err := adm.DeleteTopics(rctx, names...)
	if err != nil {
		return fmt.Errorf("delete topics: %w", err)
	}
	var errs []error
	out := []topicResult{}
	for _, r := range resps.Sorted() {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("delete topic %q: %w", r.Topic, brokerErr(r.Err, r.ErrMessage)))
			continue
		}
		out = append(out, topicResult{Topic: r.Topic, ID: topicID(r.ID), Action: "deleted"})
	}
	if cf.structured() {
		if err := cf.write(c.stdout, out); err != nil {
			return err
		}
	} else {
		for _, r := range out {
			fmt.Fprintf(c.stdout, "deleted topic %q\n", r.Topic)
		}
	}
	return errors.Join(errs...)
}

// brokerErr adds the broker's own message, when it sent one, to a Kafka error.
func brokerErr(err error, msg string) error {
	var ke *kerr.Error
	if msg != "" && errors.As(err, &ke) && !strings.Contains(ke.Message, msg) {
		return fmt.Errorf("%w: %s", err, msg)
	}
	return err
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
