package kafka

import (
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// handleDescribeConfigs describes topic configs (every config with its effective
// value and source, synonyms when asked) and this broker's configs (read-only). A
// broker resource named "" asks for cluster-wide dynamic broker configs, of which
// there are none here, so it is answered with an empty list as Kafka would.
func (s *Server) handleDescribeConfigs(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DescribeConfigsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: describe configs handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	snap := s.meta.Snapshot()
	for i := range req.Resources {
		rr := &req.Resources[i]
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		entries, err := s.describeResource(snap, rr)
		if err != nil {
			sr.ErrorCode = errorCode(err)
			sr.ErrorMessage = errorMessage(err)
		}
		sr.Configs = []kmsg.DescribeConfigsResponseResourceConfig{}
		for _, e := range entries {
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.Value, c.ReadOnly, c.IsSensitive = e.Name, e.Value, e.ReadOnly, e.IsSensitive
			c.Source = e.Source
			// v0 has no source, only whether the value is a default.
			c.IsDefault = e.Source == kmsg.ConfigSourceDefaultConfig
			if req.IncludeSynonyms {
				c.ConfigSynonyms = e.Synonyms
			}
			c.ConfigType = e.Type
			if req.IncludeDocumentation {
				doc := e.Doc
				c.Documentation = &doc
			}
			sr.Configs = append(sr.Configs, c)
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func (s *Server) describeResource(snap *cluster.Snapshot, rr *kmsg.DescribeConfigsRequestResource) ([]configEntry, error) {
	switch rr.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		if err := cluster.ValidateTopicName(rr.ResourceName); err != nil {
			return nil, err
		}
		t, ok := snap.Topic(rr.ResourceName)
		if !ok {
			return nil, fmt.Errorf("%w: %s", cluster.ErrUnknownTopic, rr.ResourceName)
		}
		return s.topicConfigEntries(t.Configs, rr.ConfigNames), nil
	case kmsg.ConfigResourceTypeBroker:
		if rr.ResourceName == "" {
			return nil, nil
		}
		if err := s.checkBrokerResource(rr.ResourceName); err != nil {
			return nil, err
		}
		return s.brokerConfigEntries(rr.ConfigNames), nil
	default:
		return nil, fmt.Errorf("config resource type %v is not supported: %w", rr.ResourceType, kerr.InvalidRequest)
	}
}

// checkBrokerResource accepts a broker resource naming this node.
func (s *Server) checkBrokerResource(name string) error {
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return fmt.Errorf("broker resource %q is not a broker id: %w", name, kerr.InvalidRequest)
	}
	if int32(id) != s.cfg.NodeID {
		return fmt.Errorf("broker resource %d: this is broker %d: %w", id, s.cfg.NodeID, kerr.InvalidRequest)
	}
	return nil
}
