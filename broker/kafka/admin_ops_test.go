package kafka

import (
	"errors"
	"maps"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

func TestApplyConfigOps(t *testing.T) {
	op := func(name string, o kmsg.IncrementalAlterConfigOp, v *string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = name, o, v
		return c
	}
	s := func(v string) *string { return &v }
	const (
		set      = kmsg.IncrementalAlterConfigOpSet
		del      = kmsg.IncrementalAlterConfigOpDelete
		appendOp = kmsg.IncrementalAlterConfigOpAppend
		subtract = kmsg.IncrementalAlterConfigOpSubtract
	)
	tests := []struct {
		name    string
		current map[string]string
		ops     []kmsg.IncrementalAlterConfigsRequestResourceConfig
		want    map[string]string
		wantErr error
	}{
		{"set over nothing", nil, []kmsg.IncrementalAlterConfigsRequestResourceConfig{op("retention.ms", set, s("5"))},
			map[string]string{"retention.ms": "5"}, nil},
		{"delete absent is a no-op", map[string]string{"segment.bytes": "1024"},
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("retention.ms", del, nil)},
			map[string]string{"segment.bytes": "1024"}, nil},
		{"append starts from the default", nil,
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("cleanup.policy", appendOp, s("compact"))},
			map[string]string{"cleanup.policy": "delete,compact"}, nil},
		{"append skips present values", map[string]string{"cleanup.policy": "compact"},
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("cleanup.policy", appendOp, s("compact, delete"))},
			map[string]string{"cleanup.policy": "compact,delete"}, nil},
		{"subtract absent value", map[string]string{"cleanup.policy": "compact"},
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("cleanup.policy", subtract, s("delete"))},
			map[string]string{"cleanup.policy": "compact"}, nil},
		{"named twice", nil, []kmsg.IncrementalAlterConfigsRequestResourceConfig{op("retention.ms", set, s("5")), op("retention.ms", del, nil)},
			nil, kerr.InvalidRequest},
		{"set without value", nil, []kmsg.IncrementalAlterConfigsRequestResourceConfig{op("retention.ms", set, nil)}, nil, kerr.InvalidRequest},
		{"unknown operation", nil, []kmsg.IncrementalAlterConfigsRequestResourceConfig{op("retention.ms", 9, s("5"))}, nil, kerr.InvalidRequest},
		{"unknown config", nil, []kmsg.IncrementalAlterConfigsRequestResourceConfig{op("retention.msec", del, nil)}, nil, cluster.ErrInvalidConfig},
		{"append to a scalar", nil, []kmsg.IncrementalAlterConfigsRequestResourceConfig{op("retention.ms", appendOp, s("5"))}, nil, cluster.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := maps.Clone(tt.current)
			got, err := applyConfigOps(tt.current, tt.ops)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if !maps.Equal(tt.current, before) {
				t.Fatalf("the current overrides were modified: %v", tt.current)
			}
		})
	}
}
