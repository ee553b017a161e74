package kafka

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// quietServer is a Server with no stores, enough for decoding and ApiVersions.
func quietServer() *Server {
	return NewServer(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil, nil, nil)
}

// frameOf encodes req as a client would and strips the size prefix.
func frameOf(req kmsg.Request, corr int32, clientID string) []byte {
	b := kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)).AppendRequest(nil, req, corr)
	return b[4:]
}

func TestDecodeRequest(t *testing.T) {
	s := quietServer()
	info := &ConnInfo{ID: 1}

	metaV12 := kmsg.NewPtrMetadataRequest()
	metaV12.Version = 12
	topic := "orders"
	metaV12.Topics = []kmsg.MetadataRequestTopic{{Topic: &topic}}
	// A flexible header with a tagged field the broker must skip.
	withHeaderTag := func() []byte {
		f := frameOf(metaV12, 9, "c")
		// header: key(2) version(2) corr(4) client id (2+1), then the tag count.
		at := 8 + 2 + 1
		out := append([]byte{}, f[:at]...)
		out = append(out, 1, 5, 2, 0xAA, 0xBB) // one tag: key 5, 2 bytes
		return append(out, f[at+1:]...)
	}()

	produceV2 := kmsg.NewPtrProduceRequest()
	produceV2.Version = 2
	apiV9 := kmsg.NewPtrApiVersionsRequest()
	apiV9.Version = 9
	truncated := func() []byte {
		f := frameOf(metaV12, 1, "c")
		return f[:len(f)-3]
	}()
	unknown := make([]byte, 8)
	binary.BigEndian.PutUint16(unknown, 999)

	tests := []struct {
		name        string
		frame       []byte
		wantErr     error
		wantKey     int16
		wantVersion int16
		wantClient  string
		unsupported bool
	}{
		{name: "api versions v0", frame: frameOf(&kmsg.ApiVersionsRequest{Version: 0}, 1, "kcat"), wantKey: 18, wantVersion: 0, wantClient: "kcat"},
		{name: "api versions v3 flexible", frame: frameOf(&kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "x", ClientSoftwareVersion: "1"}, 2, "kgo"), wantKey: 18, wantVersion: 3, wantClient: "kgo"},
		{name: "metadata v12", frame: frameOf(metaV12, 3, ""), wantKey: 3, wantVersion: 12},
		{name: "flexible header with tags", frame: withHeaderTag, wantKey: 3, wantVersion: 12, wantClient: "c"},
		{name: "api versions above served", frame: frameOf(apiV9, 4, "new-client")[:8], wantKey: 18, wantVersion: 9, unsupported: true},
		{name: "produce below served", frame: frameOf(produceV2, 5, ""), wantErr: ErrUnsupportedVersion},
		{name: "unknown key", frame: unknown, wantErr: ErrUnknownAPI},
		{name: "controlled shutdown is not served", frame: frameOf(&kmsg.ControlledShutdownRequest{Version: 1}, 6, ""), wantErr: ErrUnknownAPI},
		{name: "shorter than a header", frame: []byte{0, 3, 0}, wantErr: ErrMalformedRequest},
		{name: "empty frame", frame: nil, wantErr: ErrMalformedRequest},
		{name: "truncated body", frame: truncated, wantErr: ErrMalformedRequest},
		{name: "client id longer than frame", frame: []byte{0, 3, 0, 1, 0, 0, 0, 1, 0x7f, 0xff}, wantErr: ErrMalformedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := s.decodeRequest(tt.frame, info)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if d.req.Key != tt.wantKey || d.req.Version != tt.wantVersion || d.req.ClientID != tt.wantClient {
				t.Fatalf("got key %d v%d client %q, want key %d v%d client %q",
					d.req.Key, d.req.Version, d.req.ClientID, tt.wantKey, tt.wantVersion, tt.wantClient)
			}
			if d.unsupportedAPIVersions != tt.unsupported {
				t.Fatalf("unsupported = %v", d.unsupportedAPIVersions)
			}
			if !tt.unsupported && (d.req.Msg == nil || d.req.Msg.Key() != tt.wantKey) {
				t.Fatalf("decoded body %T", d.req.Msg)
			}
		})
	}
}

// TestAPIVersionsAnswers checks the answers to supported, invalid and unsupported
// ApiVersions requests, including the v0 header on the KIP-511 fallback.
func TestAPIVersionsAnswers(t *testing.T) {
	s := quietServer()
	tests := []struct {
		name     string
		req      *kmsg.ApiVersionsRequest
		wantVer  int16
		wantCode int16
		wantKeys bool
	}{
		{"v0", &kmsg.ApiVersionsRequest{Version: 0}, 0, 0, true},
		{"v3 named", &kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "franz-go", ClientSoftwareVersion: "1.2.3"}, 3, 0, true},
		{"v4 named", &kmsg.ApiVersionsRequest{Version: 4, ClientSoftwareName: "a", ClientSoftwareVersion: "b"}, 4, 0, true},
		{"v3 bad software name", &kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "-bad", ClientSoftwareVersion: "1"}, 3, 42, false},
		{"v5 unsupported", &kmsg.ApiVersionsRequest{Version: 5, ClientSoftwareName: "a", ClientSoftwareVersion: "b"}, 0, 35, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := s.decodeRequest(frameOf(tt.req, 77, "c"), &ConnInfo{})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.serveRequest(d)
			if err != nil {
				t.Fatal(err)
			}
			if !d.unsupportedAPIVersions {
				resp.SetVersion(d.req.Version)
			}
			frame := appendResponseFrame(nil, d.req, resp)
			if corr := int32(binary.BigEndian.Uint32(frame[4:])); corr != 77 {
				t.Fatalf("correlation id %d", corr)
			}
			// ApiVersions responses always use header v0: the body follows the
			// correlation id directly.
			got := kmsg.NewPtrApiVersionsResponse()
			got.Version = tt.wantVer
			if err := got.ReadFrom(frame[8:]); err != nil {
				t.Fatalf("decode answer at v%d: %v", tt.wantVer, err)
			}
			if got.ErrorCode != tt.wantCode {
				t.Fatalf("error code %d, want %d", got.ErrorCode, tt.wantCode)
			}
			if tt.wantKeys != (len(got.ApiKeys) > 0) {
				t.Fatalf("%d api keys", len(got.ApiKeys))
			}
			for _, k := range got.ApiKeys {
				a := s.lookup(k.ApiKey)
				if a == nil {
					t.Fatalf("advertised %+v is not served", k)
				}
				wantMin := a.MinVersion
				if k.ApiKey == produceKey {
					wantMin = 0 // listed from v0 for librdkafka's compression check (produceAdvertisedMin)
				}
				if k.MinVersion != wantMin || a.MaxVersion != k.MaxVersion {
					t.Fatalf("advertised %+v does not match the api table", k)
				}
			}
		})
	}
}

// TestAPITableWithinKmsg checks every advertised version range is one kmsg can
// decode, and that each served key is listed once.
func TestAPITableWithinKmsg(t *testing.T) {
	seen := map[int16]bool{}
	for _, a := range apis() {
		if seen[a.Key] {
			t.Fatalf("key %d listed twice", a.Key)
		}
		seen[a.Key] = true
		req := kmsg.RequestForKey(a.Key)
		if req == nil {
			t.Fatalf("kmsg has no request for key %d", a.Key)
		}
		if a.MinVersion < 0 || a.MinVersion > a.MaxVersion || a.MaxVersion > req.MaxVersion() {
			t.Fatalf("%s: served v%d-v%d, kmsg knows up to v%d", kmsg.NameForKey(a.Key), a.MinVersion, a.MaxVersion, req.MaxVersion())
		}
	}
}

// FuzzRequestDecode feeds arbitrary frames (the bytes after the size prefix)
// through header and body decoding; nothing may panic, and ApiVersions requests
// that decode are answered and encoded.
func FuzzRequestDecode(f *testing.F) {
	topic := "t"
	seeds := []kmsg.Request{
		&kmsg.ApiVersionsRequest{Version: 0},
		&kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "a", ClientSoftwareVersion: "1"},
		&kmsg.MetadataRequest{Version: 1, Topics: []kmsg.MetadataRequestTopic{{Topic: &topic}}},
		&kmsg.MetadataRequest{Version: 12, Topics: []kmsg.MetadataRequestTopic{{Topic: &topic}}},
		&kmsg.ProduceRequest{Version: 3, Acks: 1, Topics: []kmsg.ProduceRequestTopic{{Topic: topic, Partitions: []kmsg.ProduceRequestTopicPartition{{Records: []byte{1, 2, 3}}}}}},
		&kmsg.ProduceRequest{Version: 9, Acks: -1, Topics: []kmsg.ProduceRequestTopic{{Topic: topic, Partitions: []kmsg.ProduceRequestTopicPartition{{Records: []byte{1, 2, 3}}}}}},
		&kmsg.FetchRequest{Version: 4, Topics: []kmsg.FetchRequestTopic{{Topic: topic, Partitions: []kmsg.FetchRequestTopicPartition{{FetchOffset: 5}}}}},
		&kmsg.FetchRequest{Version: 13, Topics: []kmsg.FetchRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.FetchRequestTopicPartition{{FetchOffset: 5}}}}},
		&kmsg.ListOffsetsRequest{Version: 1, Topics: []kmsg.ListOffsetsRequestTopic{{Topic: topic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Timestamp: -1}}}}},
		&kmsg.ListOffsetsRequest{Version: 6, Topics: []kmsg.ListOffsetsRequestTopic{{Topic: topic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Timestamp: -2}}}}},
	}
	for i, req := range seeds {
		f.Add(frameOf(req, int32(i), "fuzz"))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 18, 0, 99, 0, 0, 0, 1})
	s := quietServer()
	f.Fuzz(func(t *testing.T, frame []byte) {
		d, err := s.decodeRequest(frame, &ConnInfo{})
		if err != nil {
			if d.req != nil {
				t.Fatalf("error %v with a request", err)
			}
			return
		}
		if d.req.Key != apiVersionsKey {
			return
		}
		resp, err := s.serveRequest(d)
		if err != nil {
			t.Fatalf("api versions: %v", err)
		}
		_ = appendResponseFrame(nil, d.req, resp)
	})
}
