package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// errStaticBrokerConfig answers changes to BROKER resources: broker configs are
// static in Tributary (set in the node's config and applied on restart), so
// AlterConfigs and IncrementalAlterConfigs refuse them with INVALID_REQUEST, as
// Kafka refuses a config that cannot be updated dynamically.
var errStaticBrokerConfig = fmt.Errorf("broker configs cannot be changed at run time; set them in the node config and restart: %w", kerr.InvalidRequest)

// handleAlterConfigs replaces each topic resource's config overrides with the
// given set (the legacy, non-incremental API): configs not named return to their
// defaults. validate-only checks without changing. A resource named twice in one
// request is refused, as Kafka does.
func (s *Server) handleAlterConfigs(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.AlterConfigsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: alter configs handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	dups := duplicates(len(req.Resources), func(i int) string { return resourceKey(req.Resources[i].ResourceType, req.Resources[i].ResourceName) })
	for i := range req.Resources {
		rr := &req.Resources[i]
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var err error
		if dups[resourceKey(rr.ResourceType, rr.ResourceName)] {
			err = fmt.Errorf("resource %s is named more than once in the request: %w", rr.ResourceName, kerr.InvalidRequest)
		} else {
			err = s.alterConfigs(rr, req.ValidateOnly, r.ClientID)
		}
		sr.ErrorCode = errorCode(err)
		sr.ErrorMessage = errorMessage(err)
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func (s *Server) alterConfigs(rr *kmsg.AlterConfigsRequestResource, validateOnly bool, client string) error {
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
	configs := make(map[string]string, len(rr.Configs))
	for _, c := range rr.Configs {
		if _, seen := configs[c.Name]; seen {
			return fmt.Errorf("config %s is given twice: %w", c.Name, kerr.InvalidRequest)
		}
		if c.Value == nil {
			return fmt.Errorf("config %s has a null value: %w", c.Name, kerr.InvalidRequest)
		}
		configs[c.Name] = *c.Value
	}
	if err := s.meta.SetTopicConfigs(rr.ResourceName, configs, validateOnly); err != nil {
		return err
	}
	if !validateOnly {
		s.logger.Info("replaced topic configs", "topic", rr.ResourceName, "configs", configs, "client", client)
	}
	return nil
}

// resourceKey identifies a config resource for duplicate checks.
func resourceKey(typ kmsg.ConfigResourceType, name string) string {
	return fmt.Sprintf("%d/%s", typ, name)
}
