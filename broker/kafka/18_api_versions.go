package kafka

import (
	"fmt"
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// softwareNamePattern is what v3+ requires of ClientSoftwareName and
// ClientSoftwareVersion (KIP-511).
var softwareNamePattern = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

// produceKey is the Produce API's key.
const produceKey = 0

// produceAdvertisedMin is the lowest Produce version ApiVersions lists: 0,
// although requests below the apis table's minimum are still refused. This is
// the one exception to "advertise what is implemented", made as Apache Kafka
// 4.0 makes it (KAFKA-18659): librdkafka (kcat) compresses a gzip, snappy or
// lz4 batch only when the broker lists Produce v0, and otherwise sends it
// uncompressed. Clients pick the highest version both sides know, so none
// ever sends v0-v2 because of it.
const produceAdvertisedMin = 0

// handleAPIVersions lists every served API with exactly the versions its handler
// implements (the apis table), but for Produce's minimum (produceAdvertisedMin).
// v3+ requests must name the client software.
func (s *Server) handleAPIVersions(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.ApiVersionsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: api versions handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if r.Version >= 3 && (!softwareNamePattern.MatchString(req.ClientSoftwareName) ||
		!softwareNamePattern.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp, nil
	}
	resp.ApiKeys = s.apiKeys()
	return resp, nil
}

// apiVersionsUnsupported is the answer to an ApiVersions request at a version we
// do not serve: a v0 body with UNSUPPORTED_VERSION and the served versions, so the
// client retries at our highest (KIP-511). It is sent with a v0 response header.
func (s *Server) apiVersionsUnsupported() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = unsupportedVersionCode
	resp.ApiKeys = s.apiKeys()
	return resp
}

func (s *Server) apiKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(s.apiByKey))
	for _, a := range s.apiByKey {
		if a == nil {
			continue
		}
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.Key, a.MinVersion, a.MaxVersion
		if a.Key == produceKey {
			k.MinVersion = produceAdvertisedMin
		}
		keys = append(keys, k)
	}
	return keys
}
