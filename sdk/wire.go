package sdk

import (
	"fmt"
	"time"

	"github.com/tributary-io/tributary/plugins/pluginpb"
)

// The conversions between SDK values and their protocol messages, shared by
// the plugin's server here and the host's client in package plugins so the
// two cannot drift apart. Plugin authors do not need them.

// RecordToProto converts a record for the wire.
func RecordToProto(r *Record) *pluginpb.Record {
	pr := &pluginpb.Record{
		Key:       r.Key,
		Value:     r.Value,
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Position:  r.Position,
	}
	if !r.Timestamp.IsZero() {
		pr.TimestampMs = r.Timestamp.UnixMilli()
	}
	if len(r.Headers) > 0 {
		pr.Headers = make([]*pluginpb.Header, len(r.Headers))
		for i, h := range r.Headers {
			pr.Headers[i] = &pluginpb.Header{Key: h.Key, Value: h.Value}
		}
	}
	return pr
}

// RecordFromProto converts a record from the wire. A set key or value is never
// nil, so null and empty stay apart.
func RecordFromProto(pr *pluginpb.Record) Record {
	r := Record{
		Key:       pr.Key,
		Value:     pr.Value,
		Topic:     pr.Topic,
		Partition: pr.Partition,
		Offset:    pr.Offset,
		Position:  pr.Position,
	}
	if pr.TimestampMs != 0 {
		r.Timestamp = time.UnixMilli(pr.TimestampMs)
	}
	if len(pr.Headers) > 0 {
		r.Headers = make([]Header, len(pr.Headers))
		for i, h := range pr.Headers {
			r.Headers[i] = Header{Key: h.Key, Value: h.Value}
		}
	}
	return r
}

// RecordsToProto converts a batch for the wire.
func RecordsToProto(rs []Record) []*pluginpb.Record {
	out := make([]*pluginpb.Record, len(rs))
	for i := range rs {
		out[i] = RecordToProto(&rs[i])
	}
	return out
}

// RecordsFromProto converts a batch from the wire.
func RecordsFromProto(prs []*pluginpb.Record) []Record {
	out := make([]Record, len(prs))
	for i, pr := range prs {
		out[i] = RecordFromProto(pr)
	}
	return out
}

// KindToProto converts a kind for the wire.
func KindToProto(k Kind) pluginpb.Kind {
	switch k {
	case KindSource:
		return pluginpb.Kind_KIND_SOURCE
	case KindSink:
		return pluginpb.Kind_KIND_SINK
	}
	return pluginpb.Kind_KIND_UNSPECIFIED
}

// KindFromProto converts a kind from the wire.
func KindFromProto(k pluginpb.Kind) (Kind, error) {
	switch k {
	case pluginpb.Kind_KIND_SOURCE:
		return KindSource, nil
	case pluginpb.Kind_KIND_SINK:
		return KindSink, nil
	}
	return 0, fmt.Errorf("unknown plugin kind %v", k)
}

var fieldTypes = map[FieldType]pluginpb.FieldType{
	String:   pluginpb.FieldType_FIELD_TYPE_STRING,
	Int:      pluginpb.FieldType_FIELD_TYPE_INT,
	Bool:     pluginpb.FieldType_FIELD_TYPE_BOOL,
	Duration: pluginpb.FieldType_FIELD_TYPE_DURATION,
	List:     pluginpb.FieldType_FIELD_TYPE_LIST,
	Bytes:    pluginpb.FieldType_FIELD_TYPE_BYTES,
}

// SpecToProto converts a spec for the wire. Check functions stay behind: the
// host validates through the plugin's Validate call.
func SpecToProto(s ConfigSpec) *pluginpb.ConfigSpec {
	out := &pluginpb.ConfigSpec{Fields: make([]*pluginpb.ConfigField, len(s.Fields))}
	for i, f := range s.Fields {
		pf := &pluginpb.ConfigField{
			Name:        f.Name,
			Type:        fieldTypes[f.Type],
			Description: f.Description,
			Required:    f.Required,
			EnumValues:  f.Enum,
			Min:         f.Min,
			Max:         f.Max,
			Secret:      f.Secret,
		}
		if f.Default != "" {
			pf.DefaultValue, pf.HasDefault = f.Default, true
		}
		out.Fields[i] = pf
	}
	return out
}

// SpecFromProto converts a spec from the wire.
func SpecFromProto(ps *pluginpb.ConfigSpec) (ConfigSpec, error) {
	var s ConfigSpec
	for _, pf := range ps.GetFields() {
		f := Field{
			Name:        pf.Name,
			Description: pf.Description,
			Required:    pf.Required,
			Enum:        pf.EnumValues,
			Min:         pf.Min,
			Max:         pf.Max,
			Secret:      pf.Secret,
		}
		if pf.HasDefault {
			f.Default = pf.DefaultValue
		}
		for t, pt := range fieldTypes {
			if pt == pf.Type {
				f.Type = t
			}
		}
		if f.Type == 0 {
			return ConfigSpec{}, fmt.Errorf("field %q: unknown type %v", pf.Name, pf.Type)
		}
		s.Fields = append(s.Fields, f)
	}
	return s, nil
}

// ProblemsToProto converts problems for the wire.
func ProblemsToProto(ps []Problem) []*pluginpb.Problem {
	out := make([]*pluginpb.Problem, len(ps))
	for i, p := range ps {
		out[i] = &pluginpb.Problem{Field: p.Field, Value: p.Value, Reason: p.Reason}
	}
	return out
}

// ProblemsFromProto converts problems from the wire.
func ProblemsFromProto(pps []*pluginpb.Problem) []Problem {
	out := make([]Problem, len(pps))
	for i, p := range pps {
		out[i] = Problem{Field: p.Field, Value: p.Value, Reason: p.Reason}
	}
	return out
}

// ManifestToProto describes the plugin for the wire.
func ManifestToProto(p *Plugin) *pluginpb.ManifestResponse {
	m := &pluginpb.ManifestResponse{
		Name:        p.Name,
		Version:     p.Version,
		Description: p.Description,
		SdkVersion:  SDKVersion,
	}
	if p.Source != nil {
		m.Kinds = append(m.Kinds, pluginpb.Kind_KIND_SOURCE)
		m.SourceSpec = SpecToProto(p.Source.Spec)
	}
	if p.Sink != nil {
		m.Kinds = append(m.Kinds, pluginpb.Kind_KIND_SINK)
		m.SinkSpec = SpecToProto(p.Sink.Spec)
	}
	return m
}
