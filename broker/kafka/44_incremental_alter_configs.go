package kafka

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// handleIncrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT operations
// to each topic resource's overrides; configs not named keep their values. APPEND
// and SUBTRACT work on list configs (cleanup.policy), starting from the override
// or, without one, from Kafka's default. BROKER resources are refused
// (errStaticBrokerConfig).
func (s *Server) handleIncrementalAlterConfigs(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.IncrementalAlterConfigsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: incremental alter configs handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	dups := duplicates(len(req.Resources), func(i int) string { return resourceKey(req.Resources[i].ResourceType, req.Resources[i].ResourceName) })
	for i := range req.Resources {
		rr := &req.Resources[i]
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var err error
		if dups[resourceKey(rr.ResourceType, rr.ResourceName)] {
			err = fmt.Errorf("resource %s is named more than once in the request: %w", rr.ResourceName, kerr.InvalidRequest)
		} else {
			err = s.incrementalAlterConfigs(rr, req.ValidateOnly, r.ClientID)
		}
		sr.ErrorCode = errorCode(err)
		sr.ErrorMessage = errorMessage(err)
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func (s *Server) incrementalAlterConfigs(rr *kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool, client string) error {
	switch rr.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
	case kmsg.ConfigResourceTypeBroker:
		return errStaticBrokerConfig
	default:
		return fmt.Errorf("config resource type %v is not supported: %w", rr.ResourceType, kerr.InvalidRequest)
	}
	if err := cluster.ValidateTopicName(rr.ResourceName); err != nil {
		return err
	}
	t, ok := s.meta.Snapshot().Topic(rr.ResourceName)
	if !ok {
		return fmt.Errorf("%w: %s", cluster.ErrUnknownTopic, rr.ResourceName)
	}
	configs, err := applyConfigOps(t.Configs, rr.Configs)
	if err != nil {
		return err
	}
	// The change is computed from one snapshot and written as a whole; a
	// concurrent alter of the same topic is last-writer-wins, as in Kafka.
	if err := s.meta.SetTopicConfigs(rr.ResourceName, configs, validateOnly); err != nil {
		return err
	}
	if !validateOnly {
		s.logger.Info("altered topic configs", "topic", rr.ResourceName, "configs", configs, "client", client)
	}
	return nil
}

// applyConfigOps returns current with ops applied, in order. Each config may be
// named once per resource.
func applyConfigOps(current map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) (map[string]string, error) {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	seen := map[string]bool{}
	for _, op := range ops {
		if seen[op.Name] {
			return nil, fmt.Errorf("config %s is named more than once: %w", op.Name, kerr.InvalidRequest)
		}
		seen[op.Name] = true
		key, known := cluster.LookupTopicConfigKey(op.Name)
		if !known {
			return nil, fmt.Errorf("%w: unknown topic config %q", cluster.ErrInvalidConfig, op.Name)
		}
		if op.Value == nil && op.Op != kmsg.IncrementalAlterConfigOpDelete {
			return nil, fmt.Errorf("config %s: %v needs a value: %w", op.Name, op.Op, kerr.InvalidRequest)
		}
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			out[op.Name] = *op.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(out, op.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if key.Type != cluster.ConfigTypeList {
				return nil, fmt.Errorf("%w: %s is not a list config; %v applies to lists only", cluster.ErrInvalidConfig, op.Name, op.Op)
			}
			base, ok := out[op.Name]
			if !ok {
				base = key.Default
			}
			list := splitList(base)
			for _, v := range splitList(*op.Value) {
				has := slices.Contains(list, v)
				if op.Op == kmsg.IncrementalAlterConfigOpAppend && !has {
					list = append(list, v)
				}
				if op.Op == kmsg.IncrementalAlterConfigOpSubtract && has {
					list = slices.DeleteFunc(list, func(x string) bool { return x == v })
				}
			}
			out[op.Name] = strings.Join(list, ",")
		default:
			return nil, fmt.Errorf("config %s: unknown operation %d: %w", op.Name, op.Op, kerr.InvalidRequest)
		}
	}
	return out, nil
}

// splitList splits a list config value on commas, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
