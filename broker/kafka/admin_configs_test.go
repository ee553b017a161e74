package kafka_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

func TestAdminDescribeTopicConfigs(t *testing.T) {
	e := startAdminEnv(t, "")
	e.createTopic("described", 1, map[string]*string{"retention.ms": strp("5000"), "min.insync.replicas": strp("1")})
	got := e.describeTopicConfigs("described")
	if len(got) != len(cluster.TopicConfigKeys()) {
		t.Fatalf("%d configs described, want all %d", len(got), len(cluster.TopicConfigKeys()))
	}
	tests := []struct {
		key      string
		value    string
		source   kmsg.ConfigSource
		synonyms []string // synonym names, most preferred first
	}{
		{"retention.ms", "5000", kmsg.ConfigSourceDynamicTopicConfig, []string{"retention.ms", "log.retention.ms"}},
		{"min.insync.replicas", "1", kmsg.ConfigSourceDynamicTopicConfig, []string{"min.insync.replicas", "min.insync.replicas"}},
		// The test broker sets segment.bytes broker-wide to 8 MiB.
		{"segment.bytes", "8388608", kmsg.ConfigSourceStaticBrokerConfig, []string{"log.segment.bytes", "log.segment.bytes"}},
		{"cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig, []string{"log.cleanup.policy"}},
		{"compression.type", "producer", kmsg.ConfigSourceDefaultConfig, []string{"compression.type"}},
	}
	for _, tt := range tests {
		c, ok := got[tt.key]
		if !ok || c.Value == nil || *c.Value != tt.value || c.Source != tt.source {
			t.Errorf("%s = %+v, want %q from %v", tt.key, c, tt.value, tt.source)
			continue
		}
		var names []string
		for _, s := range c.Synonyms {
			names = append(names, s.Key)
		}
		if len(names) != len(tt.synonyms) {
			t.Errorf("%s synonyms %v, want %v", tt.key, names, tt.synonyms)
			continue
		}
		for i := range names {
			if names[i] != tt.synonyms[i] {
				t.Errorf("%s synonyms %v, want %v", tt.key, names, tt.synonyms)
			}
		}
	}

	// Errors per resource, and a subset of names with documentation (raw request).
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeDocumentation = true
	for _, r := range []struct {
		typ   kmsg.ConfigResourceType
		name  string
		names []string
	}{
		{kmsg.ConfigResourceTypeTopic, "described", []string{"retention.ms", "no.such.config"}},
		{kmsg.ConfigResourceTypeTopic, "missing", nil},
		{kmsg.ConfigResourceTypeTopic, "bad name", nil},
		{kmsg.ConfigResourceTypeBrokerLogger, "1", nil},
	} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName, rr.ConfigNames = r.typ, r.name, r.names
		req.Resources = append(req.Resources, rr)
	}
	resp := e.request(req).(*kmsg.DescribeConfigsResponse)
	wantErrs := []error{nil, kerr.UnknownTopicOrPartition, kerr.InvalidTopicException, kerr.InvalidRequest}
	for i, sr := range resp.Resources {
		if err := kerr.ErrorForCode(sr.ErrorCode); !errIs(err, wantErrs[i]) {
			t.Errorf("resource %d (%s): err %v, want %v", i, sr.ResourceName, err, wantErrs[i])
		}
	}
	sub := resp.Resources[0].Configs
	if len(sub) != 1 || sub[0].Name != "retention.ms" || sub[0].Documentation == nil || sub[0].ConfigType != kmsg.ConfigTypeLong {
		t.Fatalf("subset answer: %+v", sub)
	}
}

func TestAdminDescribeBrokerConfigs(t *testing.T) {
	e := startAdminEnv(t, "")
	rcs, err := e.adm.DescribeBrokerConfigs(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("1", nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe broker 1: %v / %v", err, rc.Err)
	}
	got := map[string]kadm.Config{}
	for _, c := range rc.Configs {
		got[c.Key] = c
	}
	want := map[string]struct {
		value  string
		source kmsg.ConfigSource
	}{
		"log.segment.bytes":  {"8388608", kmsg.ConfigSourceStaticBrokerConfig},
		"log.retention.ms":   {"604800000", kmsg.ConfigSourceDefaultConfig},
		"num.partitions":     {"2", kmsg.ConfigSourceStaticBrokerConfig},
		"node.id":            {"1", kmsg.ConfigSourceStaticBrokerConfig},
		"log.cleanup.policy": {"delete", kmsg.ConfigSourceDefaultConfig},
	}
	for k, w := range want {
		c, ok := got[k]
		if !ok || c.Value == nil || *c.Value != w.value || c.Source != w.source {
			t.Errorf("%s = %+v, want %q from %v", k, c, w.value, w.source)
		}
	}
	// The cluster-wide dynamic defaults ("" broker) are empty: there are none.
	all, err := e.adm.DescribeBrokerConfigs(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if rc, err := all.On("", nil); err != nil || rc.Err != nil || len(rc.Configs) != 0 {
		t.Fatalf("cluster-wide broker configs: %+v, %v", rc, err)
	}
}

// TestAdminAlterConfigs runs one sequence of changes with the incremental API and
// the legacy one and checks the overrides after each step.
func TestAdminAlterConfigs(t *testing.T) {
	e := startAdminEnv(t, "")
	e.createTopic("altered", 1, map[string]*string{"retention.ms": strp("1000")})
	incremental := func(validate bool, ops ...kadm.AlterConfig) (kadm.AlterConfigsResponses, error) {
		if validate {
			return e.adm.ValidateAlterTopicConfigs(testCtx(t), ops, "altered")
		}
		return e.adm.AlterTopicConfigs(testCtx(t), ops, "altered")
	}
	legacy := func(validate bool, ops ...kadm.AlterConfig) (kadm.AlterConfigsResponses, error) {
		if validate {
			return e.adm.ValidateAlterTopicConfigsState(testCtx(t), ops, "altered")
		}
		return e.adm.AlterTopicConfigsState(testCtx(t), ops, "altered")
	}
	set := func(name, v string) kadm.AlterConfig {
		return kadm.AlterConfig{Op: kadm.SetConfig, Name: name, Value: &v}
	}
	tests := []struct {
		name     string
		alter    func(bool, ...kadm.AlterConfig) (kadm.AlterConfigsResponses, error)
		validate bool
		ops      []kadm.AlterConfig
		wantErr  error
		want     map[string]string // overrides afterwards (configs with source DYNAMIC_TOPIC_CONFIG)
	}{
		{name: "incremental set", alter: incremental, ops: []kadm.AlterConfig{set("segment.bytes", "1048576"), set("retention.bytes", "4096")},
			want: map[string]string{"retention.ms": "1000", "segment.bytes": "1048576", "retention.bytes": "4096"}},
		{name: "incremental append to list", alter: incremental, ops: []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: strp("compact")}},
			want: map[string]string{"retention.ms": "1000", "segment.bytes": "1048576", "retention.bytes": "4096", "cleanup.policy": "delete,compact"}},
		{name: "incremental subtract from list", alter: incremental, ops: []kadm.AlterConfig{{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: strp("delete")}},
			want: map[string]string{"retention.ms": "1000", "segment.bytes": "1048576", "retention.bytes": "4096", "cleanup.policy": "compact"}},
		{name: "incremental delete", alter: incremental, ops: []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "retention.bytes"}},
			want: map[string]string{"retention.ms": "1000", "segment.bytes": "1048576", "cleanup.policy": "compact"}},
		{name: "incremental validate only", alter: incremental, validate: true, ops: []kadm.AlterConfig{set("retention.ms", "1")},
			want: map[string]string{"retention.ms": "1000", "segment.bytes": "1048576", "cleanup.policy": "compact"}},
		{name: "incremental bad value", alter: incremental, ops: []kadm.AlterConfig{set("segment.bytes", "huge")}, wantErr: kerr.InvalidConfig,
			want: map[string]string{"retention.ms": "1000", "segment.bytes": "1048576", "cleanup.policy": "compact"}},
		{name: "incremental unknown key", alter: incremental, ops: []kadm.AlterConfig{set("segment.byte", "1")}, wantErr: kerr.InvalidConfig,
			want: map[string]string{"retention.ms": "1000", "segment.bytes": "1048576", "cleanup.policy": "compact"}},
		{name: "incremental append to a non-list", alter: incremental, ops: []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "retention.ms", Value: strp("5")}},
			wantErr: kerr.InvalidConfig, want: map[string]string{"retention.ms": "1000", "segment.bytes": "1048576", "cleanup.policy": "compact"}},
		{name: "incremental empty policy", alter: incremental, ops: []kadm.AlterConfig{{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: strp("compact")}},
			wantErr: kerr.InvalidConfig, want: map[string]string{"retention.ms": "1000", "segment.bytes": "1048576", "cleanup.policy": "compact"}},
		{name: "legacy replaces all", alter: legacy, ops: []kadm.AlterConfig{set("cleanup.policy", "compact,delete"), set("segment.bytes", "2048")},
			want: map[string]string{"cleanup.policy": "compact,delete", "segment.bytes": "2048"}},
		{name: "legacy validate only", alter: legacy, validate: true, ops: []kadm.AlterConfig{set("retention.ms", "1")},
			want: map[string]string{"cleanup.policy": "compact,delete", "segment.bytes": "2048"}},
		{name: "legacy bad value", alter: legacy, ops: []kadm.AlterConfig{set("min.insync.replicas", "0")}, wantErr: kerr.InvalidConfig,
			want: map[string]string{"cleanup.policy": "compact,delete", "segment.bytes": "2048"}},
		{name: "legacy clears", alter: legacy, want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resps, err := tt.alter(tt.validate, tt.ops...)
			if err != nil {
				t.Fatal(err)
			}
			r, err := resps.On("altered", nil)
			if err != nil || !errIs(r.Err, tt.wantErr) {
				t.Fatalf("err = %v / %v (%s), want %v", err, r.Err, r.ErrMessage, tt.wantErr)
			}
			if tt.wantErr != nil && r.ErrMessage == "" {
				t.Error("an error without a message")
			}
			got := map[string]string{}
			for k, c := range e.describeTopicConfigs("altered") {
				if c.Source == kmsg.ConfigSourceDynamicTopicConfig {
					got[k] = *c.Value
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("overrides %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("overrides %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// TestAdminAlterConfigsErrors covers resources that cannot be altered.
func TestAdminAlterConfigsErrors(t *testing.T) {
	e := startAdminEnv(t, "")
	ctx := testCtx(t)
	set := []kadm.AlterConfig{{Name: "retention.ms", Value: strp("1")}}
	tests := []struct {
		name string
		run  func() (kadm.AlterConfigsResponses, error)
		res  string
		want error
	}{
		{"incremental unknown topic", func() (kadm.AlterConfigsResponses, error) { return e.adm.AlterTopicConfigs(ctx, set, "missing") }, "missing", kerr.UnknownTopicOrPartition},
		{"legacy unknown topic", func() (kadm.AlterConfigsResponses, error) { return e.adm.AlterTopicConfigsState(ctx, set, "missing") }, "missing", kerr.UnknownTopicOrPartition},
		{"incremental broker", func() (kadm.AlterConfigsResponses, error) {
			return e.adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "log.retention.ms", Value: strp("1")}}, 1)
		}, "1", kerr.InvalidRequest},
		{"legacy broker", func() (kadm.AlterConfigsResponses, error) {
			return e.adm.AlterBrokerConfigsState(ctx, []kadm.AlterConfig{{Name: "log.retention.ms", Value: strp("1")}}, 1)
		}, "1", kerr.InvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resps, err := tt.run()
			if err != nil {
				t.Fatal(err)
			}
			r, err := resps.On(tt.res, nil)
			if err != nil || !errIs(r.Err, tt.want) {
				t.Fatalf("err = %v / %v (%s), want %v", err, r.Err, r.ErrMessage, tt.want)
			}
		})
	}
}

// TestAdminAlterConfigsDuplicateResource names one topic twice in one request:
// both answers are INVALID_REQUEST and nothing changes, for both alter APIs.
func TestAdminAlterConfigsDuplicateResource(t *testing.T) {
	e := startAdminEnv(t, "")
	e.createTopic("twice", 1, nil)
	legacy := kmsg.NewPtrAlterConfigsRequest()
	incremental := kmsg.NewPtrIncrementalAlterConfigsRequest()
	for range 2 {
		lr := kmsg.NewAlterConfigsRequestResource()
		lr.ResourceType, lr.ResourceName = kmsg.ConfigResourceTypeTopic, "twice"
		lc := kmsg.NewAlterConfigsRequestResourceConfig()
		lc.Name, lc.Value = "retention.ms", strp("5")
		lr.Configs = append(lr.Configs, lc)
		legacy.Resources = append(legacy.Resources, lr)

		ir := kmsg.NewIncrementalAlterConfigsRequestResource()
		ir.ResourceType, ir.ResourceName = kmsg.ConfigResourceTypeTopic, "twice"
		ic := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		ic.Name, ic.Value = "retention.ms", strp("5")
		ir.Configs = append(ir.Configs, ic)
		incremental.Resources = append(incremental.Resources, ir)
	}
	for _, r := range e.request(legacy).(*kmsg.AlterConfigsResponse).Resources {
		if r.ErrorCode != kerr.InvalidRequest.Code {
			t.Errorf("legacy: error %d, want INVALID_REQUEST", r.ErrorCode)
		}
	}
	for _, r := range e.request(incremental).(*kmsg.IncrementalAlterConfigsResponse).Resources {
		if r.ErrorCode != kerr.InvalidRequest.Code {
			t.Errorf("incremental: error %d, want INVALID_REQUEST", r.ErrorCode)
		}
	}
	if c := e.describeTopicConfigs("twice")["retention.ms"]; c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("retention.ms changed: %+v", c)
	}
}
