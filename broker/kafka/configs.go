package kafka

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// configEntry is one config as CreateTopics (v5+) and DescribeConfigs report it.
type configEntry struct {
	Name        string
	Value       *string // nil when sensitive
	ReadOnly    bool
	Source      kmsg.ConfigSource
	IsSensitive bool
	Type        kmsg.ConfigType
	Doc         string
	// Synonyms are the places the value could come from, most preferred first:
	// the topic override, the broker's setting, Kafka's default.
	Synonyms []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
}

func synonym(name, value string, src kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	syn.Name, syn.Value, syn.Source = name, &value, src
	return syn
}

// wanted reports whether name is asked for; nil names ask for everything.
func wanted(names []string, name string) bool {
	return names == nil || slices.Contains(names, name)
}

// topicConfigEntries describes every topic config (or those named) of a topic with
// the given overrides: its effective value, where it comes from, and its synonyms.
func (s *Server) topicConfigEntries(overrides map[string]string, names []string) []configEntry {
	var out []configEntry
	for _, k := range cluster.TopicConfigKeys() {
		if !wanted(names, k.Name) {
			continue
		}
		value, src := k.Value(s.cfg.LogDefaults, overrides)
		e := configEntry{
			Name: k.Name, Value: &value, ReadOnly: k.ReadOnly, Source: kmsg.ConfigSource(src),
			IsSensitive: k.Sensitive, Type: kmsg.ConfigType(k.Type), Doc: k.Doc,
		}
		if v, ok := overrides[k.Name]; ok {
			e.Synonyms = append(e.Synonyms, synonym(k.Name, v, kmsg.ConfigSourceDynamicTopicConfig))
		}
		if bv, bsrc := k.BrokerValue(s.cfg.LogDefaults); bsrc == cluster.SourceBroker {
			e.Synonyms = append(e.Synonyms, synonym(k.BrokerName, bv, kmsg.ConfigSourceStaticBrokerConfig))
		}
		e.Synonyms = append(e.Synonyms, synonym(k.BrokerName, k.Default, kmsg.ConfigSourceDefaultConfig))
		if k.Sensitive {
			e.Value = nil
			for i := range e.Synonyms {
				e.Synonyms[i].Value = nil
			}
		}
		out = append(out, e)
	}
	return out
}

// brokerConfigEntries describes this broker's settings (or those named): the
// broker-wide defaults of every topic config under their broker names, and the
// node settings clients ask about. All are read-only: broker configs are static
// here and change with the node's config file and a restart.
func (s *Server) brokerConfigEntries(names []string) []configEntry {
	static := func(name, value, kafkaDefault string, typ kmsg.ConfigType, doc string) configEntry {
		e := configEntry{Name: name, Value: &value, ReadOnly: true, Source: kmsg.ConfigSourceDefaultConfig, Type: typ, Doc: doc}
		if value != kafkaDefault {
			e.Source = kmsg.ConfigSourceStaticBrokerConfig
			e.Synonyms = append(e.Synonyms, synonym(name, value, kmsg.ConfigSourceStaticBrokerConfig))
		}
		if kafkaDefault != "" {
			e.Synonyms = append(e.Synonyms, synonym(name, kafkaDefault, kmsg.ConfigSourceDefaultConfig))
		}
		return e
	}
	dataDir, err := filepath.Abs(s.cfg.DataDir)
	if err != nil {
		dataDir = s.cfg.DataDir
	}
	id := strconv.Itoa(int(s.cfg.NodeID))
	all := []configEntry{
		static("node.id", id, "", kmsg.ConfigTypeInt, "this node's id"),
		static("broker.id", id, "", kmsg.ConfigTypeInt, "this node's id (the older name of node.id)"),
		static("log.dirs", dataDir, "", kmsg.ConfigTypeList, "where partition logs are kept"),
		static("num.partitions", strconv.Itoa(int(s.cfg.NumPartitions)), "1", kmsg.ConfigTypeInt,
			"partitions of auto-created topics and of CreateTopics with -1"),
		static("default.replication.factor", strconv.Itoa(int(s.cfg.DefaultReplicationFactor)), "1", kmsg.ConfigTypeInt,
			"replication factor of auto-created topics and of CreateTopics with -1"),
		static("auto.create.topics.enable", strconv.FormatBool(s.cfg.AutoCreateTopics), "true", kmsg.ConfigTypeBoolean,
			"whether Metadata requests create unknown topics"),
		static("socket.request.max.bytes", strconv.Itoa(int(s.cfg.MaxRequestBytes)), "104857600", kmsg.ConfigTypeInt,
			"largest request accepted"),
	}
	for _, k := range cluster.TopicConfigKeys() {
		value, _ := k.BrokerValue(s.cfg.LogDefaults)
		all = append(all, static(k.BrokerName, value, k.Default, kmsg.ConfigType(k.Type), k.Doc))
	}
	slices.SortFunc(all, func(a, b configEntry) int { return strings.Compare(a.Name, b.Name) })
	var out []configEntry
	for _, e := range all {
		if wanted(names, e.Name) {
			out = append(out, e)
		}
	}
	return out
}
