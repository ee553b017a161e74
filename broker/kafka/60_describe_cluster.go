package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeCluster endpoint types (v1+).
const (
	endpointBrokers     = 1
	endpointControllers = 2
)

// clusterAuthorizedOperations is the KIP-430 bitfield of cluster operations a
// client may perform. There are no ACLs yet, so all of them: CREATE(5), ALTER(7),
// DESCRIBE(8), CLUSTER_ACTION(9), DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11),
// IDEMPOTENT_WRITE(12), CREATE_TOKENS(13), DESCRIBE_TOKENS(14).
const clusterAuthorizedOperations = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12 | 1<<13 | 1<<14

// handleDescribeCluster answers the cluster id, the controller and the brokers.
// Only the broker endpoints are described; asking for controller endpoints (which
// Kafka serves only from controllers) is UNSUPPORTED_ENDPOINT_TYPE, as Kafka's
// brokers answer.
func (s *Server) handleDescribeCluster(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DescribeClusterRequest)
	if !ok {
		return nil, fmt.Errorf("%w: describe cluster handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = endpointBrokers
	if r.Version >= 1 && req.EndpointType != endpointBrokers {
		resp.EndpointType = req.EndpointType
		err := fmt.Errorf("endpoint type %d: this broker describes broker endpoints (%d) only: %w",
			req.EndpointType, endpointBrokers, kerr.UnsupportedEndpointType)
		resp.ErrorCode, resp.ErrorMessage = errorCode(err), errorMessage(err)
		return resp, nil
	}
	snap := s.meta.Snapshot()
	resp.ClusterID = snap.ClusterID
	resp.ControllerID = snap.ControllerID
	for _, b := range snap.Brokers {
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port = b.ID, b.Host, b.Port
		if b.Rack != "" {
			rack := b.Rack
			rb.Rack = &rack
		}
		resp.Brokers = append(resp.Brokers, rb)
	}
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = clusterAuthorizedOperations
	}
	return resp, nil
}
