package kafka

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Errors that close a connection because the protocol has no way to answer.
var (
	// ErrMalformedRequest: a frame too short for a header, or a header or body
	// that does not decode at its version.
	ErrMalformedRequest = errors.New("kafka: malformed request")
	// ErrUnknownAPI: an API key this broker does not serve.
	ErrUnknownAPI = errors.New("kafka: unknown api key")
	// ErrUnsupportedVersion: a version of a served API outside its range (ApiVersions
	// itself is answered instead, see KIP-511).
	ErrUnsupportedVersion = errors.New("kafka: unsupported api version")
	// ErrFrameSize: a size prefix below zero or above socket.request.max.bytes.
	ErrFrameSize = errors.New("kafka: invalid request size")
	// errHandlerPanic marks a recovered handler panic (a broker bug).
	errHandlerPanic = errors.New("kafka: handler panicked")
)

// requestHeaderMinSize is key + version + correlation id.
const requestHeaderMinSize = 8

// apiVersionsKey is ApiVersions, whose unsupported versions get an answer.
const apiVersionsKey = 18

// decoded is one request frame after decoding.
type decoded struct {
	req *Request
	api *api
	// unsupportedAPIVersions is set for an ApiVersions request at a version we do
	// not serve: it is answered with a v0 UNSUPPORTED_VERSION body, not decoded.
	unsupportedAPIVersions bool
}

// decodeRequest decodes one frame (the bytes after the size prefix): the request
// header (v1, or v2 with tagged fields for flexible versions) and the body. Byte
// fields of the body (produce records) alias frame. Errors wrap ErrMalformedRequest,
// ErrUnknownAPI or ErrUnsupportedVersion.
func (s *Server) decodeRequest(frame []byte, info *ConnInfo) (decoded, error) {
	if len(frame) < requestHeaderMinSize {
		return decoded{}, fmt.Errorf("%w: %d-byte frame is shorter than a request header", ErrMalformedRequest, len(frame))
	}
	key := int16(binary.BigEndian.Uint16(frame[0:]))
	version := int16(binary.BigEndian.Uint16(frame[2:]))
	corr := int32(binary.BigEndian.Uint32(frame[4:]))
	a := s.lookup(key)
	if a == nil {
		return decoded{}, fmt.Errorf("%w: key %d (correlation id %d)", ErrUnknownAPI, key, corr)
	}
	r := &Request{Key: key, Version: version, CorrelationID: corr, Conn: info}
	if version < a.MinVersion || version > a.MaxVersion {
		if key == apiVersionsKey {
			return decoded{req: r, api: a, unsupportedAPIVersions: true}, nil
		}
		return decoded{}, fmt.Errorf("%w: %s v%d (served v%d-v%d)", ErrUnsupportedVersion, kmsg.NameForKey(key), version, a.MinVersion, a.MaxVersion)
	}

	b := kbin.Reader{Src: frame[requestHeaderMinSize:]}
	// The client id is a nullable non-compact string even in flexible headers.
	if id := b.NullableString(); id != nil {
		r.ClientID = *id
	}
	msg := kmsg.RequestForKey(key)
	if msg == nil {
		return decoded{}, fmt.Errorf("%w: key %d has no decoder", ErrUnknownAPI, key)
	}
	msg.SetVersion(version)
	if !b.Ok() {
		return decoded{}, fmt.Errorf("%w: %s v%d header truncated", ErrMalformedRequest, kmsg.NameForKey(key), version)
	}
	body := b.Src
	if msg.IsFlexible() {
		// kmsg's own tag readers do not stop at the end of the input (see
		// request_guard.go), so tagged fields are bounds-checked first.
		var err error
		if body, err = skipTaggedFields(body); err != nil {
			return decoded{}, fmt.Errorf("%w: %s v%d header: %v", ErrMalformedRequest, kmsg.NameForKey(key), version, err)
		}
		if err := checkRequestShape(key, version, body); err != nil {
			return decoded{}, fmt.Errorf("%w: %s v%d body: %v", ErrMalformedRequest, kmsg.NameForKey(key), version, err)
		}
	}
	if err := msg.ReadFrom(body); err != nil {
		return decoded{}, fmt.Errorf("%w: %s v%d body: %v", ErrMalformedRequest, kmsg.NameForKey(key), version, err)
	}
	r.Msg = msg
	return decoded{req: r, api: a}, nil
}

// serveRequest runs the API handler, turning a panic into an error that closes
// only this connection.
func (s *Server) serveRequest(d decoded) (resp kmsg.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %s v%d: %v\n%s", errHandlerPanic, kmsg.NameForKey(d.req.Key), d.req.Version, p, debug.Stack())
		}
	}()
	if d.unsupportedAPIVersions {
		return s.apiVersionsUnsupported(), nil
	}
	defer s.metrics.observeRequest(d.req.Key, time.Now())
	return s.serveSecured(d)
}

// appendResponseFrame appends a whole response frame to dst: the size prefix, the
// response header (v0: correlation id; v1 for flexible versions: plus an empty tag
// buffer, except ApiVersions, which always uses v0) and the body.
func appendResponseFrame(dst []byte, r *Request, resp kmsg.Response) []byte {
	start := len(dst)
	dst = appendResponseHeader(dst, r, resp)
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// appendResponseHeader appends a zero size prefix (patched by the caller) and the
// response header.
func appendResponseHeader(dst []byte, r *Request, resp kmsg.Response) []byte {
	dst = append(dst, 0, 0, 0, 0)
	dst = kbin.AppendInt32(dst, r.CorrelationID)
	if resp.IsFlexible() && r.Key != apiVersionsKey {
		dst = append(dst, 0) // no tagged fields
	}
	return dst
}

// isProtocolError reports a request the protocol has no answer for (the client
// misbehaved); such closes are logged as warnings.
func isProtocolError(err error) bool {
	return errors.Is(err, ErrMalformedRequest) || errors.Is(err, ErrUnknownAPI) ||
		errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, ErrFrameSize)
}

// unsupportedVersionCode is UNSUPPORTED_VERSION, named for the ApiVersions answer.
var unsupportedVersionCode = kerr.UnsupportedVersion.Code
