package main

import (
	"context"
	"flag"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// completeBudget bounds what completing a name may take: a shell waits
// for it, so an unreachable broker gives no candidates instead of a hang.
const completeBudget = 2 * time.Second

// nameKind is what a word being completed names, if anything.
type nameKind int

const (
	noName nameKind = iota
	topicName
	groupName
)

// nameToComplete says whether the last of words (after "tributary") is a
// topic or a group name: the value of --topic or --group, or the
// positional argument of the topic and group actions that take one.
func nameToComplete(words []string) nameKind {
	if len(words) < 2 {
		return noName
	}
	switch strings.TrimLeft(words[len(words)-2], "-") {
	case "topic":
		if strings.HasPrefix(words[len(words)-2], "-") {
			return topicName
		}
	case "group":
		if strings.HasPrefix(words[len(words)-2], "-") {
			return groupName
		}
	}
	if len(words) < 3 || strings.HasPrefix(words[len(words)-1], "-") {
		return noName
	}
	switch {
	case words[0] == "topic" && slices.Contains([]string{"describe", "alter", "delete"}, words[1]):
		return topicName
	case words[0] == "group" && slices.Contains([]string{"describe", "delete", "reset-offsets"}, words[1]):
		return groupName
	}
	return noName
}

// completeNames lists the topic or group names of the cluster that the
// flags among words (--bootstrap, security flags, or their environment
// defaults) point at. Internal names (__...) are left out unless cur asks
// for them. Any failure gives no names.
func completeNames(ctx context.Context, c *cli, kind nameKind, words []string, cur string) []string {
	fs := flag.NewFlagSet("complete", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cf := addClientFlags(fs, c)
	for i := 0; i < len(words)-1; i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(words[i], "-"), "=")
		if !strings.HasPrefix(words[i], "-") || fs.Lookup(name) == nil {
			continue
		}
		if !hasValue {
			if _, isBool := fs.Lookup(name).Value.(interface{ IsBoolFlag() bool }); isBool {
				value = "true"
			} else if i+1 < len(words)-1 {
				i++
				value = words[i]
			} else {
				continue
			}
		}
		_ = fs.Set(name, value)
	}
	cf.timeout = completeBudget
	cl, err := cf.newClient(kgo.DialTimeout(completeBudget / 2))
	if err != nil {
		return nil
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, completeBudget)
	defer cancel()
	adm := kadm.NewClient(cl)
	var names []string
	switch kind {
	case topicName:
		topics, err := adm.ListTopicsWithInternal(ctx)
		if err != nil {
			return nil
		}
		names = topics.Names()
	case groupName:
		groups, err := adm.ListGroups(ctx)
		if err != nil {
			return nil
		}
		names = groups.Groups()
	}
	out := names[:0]
	for _, n := range names {
		if strings.HasPrefix(n, "__") && !strings.HasPrefix(cur, "_") {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
