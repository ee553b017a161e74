package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordFormat prints a record with a printf-like template, close to kcat's -f:
//
//	%t topic   %p partition   %o offset   %T timestamp (ms)   %k key   %v value (also %s)
//	%h headers as name=value,name=value   %K key length   %S value length   %% a percent sign
//	\n newline  \t tab  \r carriage return  \\ backslash
//
// A null key prints as nothing and its length as -1. The template is parsed
// once; formatting a record only appends.
type recordFormat struct {
	parts []formatPart
}

type formatPart struct {
	literal string
	verb    byte // 0 for a literal
}

const formatVerbs = "tpoTkvshKS"

func parseRecordFormat(s string) (recordFormat, error) {
	var f recordFormat
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.parts = append(f.parts, formatPart{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '%' && i+1 < len(s) && s[i+1] == '%':
			lit.WriteByte('%')
			i++
		case ch == '%' && i+1 < len(s) && strings.IndexByte(formatVerbs, s[i+1]) >= 0:
			flush()
			f.parts = append(f.parts, formatPart{verb: s[i+1]})
			i++
		case ch == '%':
			return recordFormat{}, fmt.Errorf("format %q: unknown directive at byte %d (known: %%t %%p %%o %%T %%k %%v %%s %%h %%K %%S %%%%)", s, i)
		case ch == '\\' && i+1 < len(s):
			esc := map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', '\\': '\\', '0': 0}
			e, ok := esc[s[i+1]]
			if !ok {
				return recordFormat{}, fmt.Errorf("format %q: unknown escape \\%c", s, s[i+1])
			}
			lit.WriteByte(e)
			i++
		default:
			lit.WriteByte(ch)
		}
	}
	flush()
	return f, nil
}

// append writes r formatted into dst.
func (f recordFormat) append(dst []byte, r *kgo.Record) []byte {
	for _, p := range f.parts {
		switch p.verb {
		case 0:
			dst = append(dst, p.literal...)
		case 't':
			dst = append(dst, r.Topic...)
		case 'p':
			dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		case 'o':
			dst = strconv.AppendInt(dst, r.Offset, 10)
		case 'T':
			dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
		case 'k':
			dst = append(dst, r.Key...)
		case 'v', 's':
			dst = append(dst, r.Value...)
		case 'K':
			dst = strconv.AppendInt(dst, lenOrNull(r.Key), 10)
		case 'S':
			dst = strconv.AppendInt(dst, lenOrNull(r.Value), 10)
		case 'h':
			for i, h := range r.Headers {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, h.Key...)
				dst = append(dst, '=')
				dst = append(dst, h.Value...)
			}
		}
	}
	return dst
}

func lenOrNull(b []byte) int64 {
	if b == nil {
		return -1
	}
	return int64(len(b))
}

// jsonRecordOf is r as `consume --format json` prints it.
func jsonRecordOf(r *kgo.Record) jsonRecord {
	jr := jsonRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Timestamp: r.Timestamp.UnixMilli(), Time: r.Timestamp.UTC().Format(time.RFC3339Nano),
		Key: strOrNil(r.Key), Value: strOrNil(r.Value)}
	if len(r.Headers) > 0 {
		jr.Headers = make(map[string]string, len(r.Headers))
		for _, h := range r.Headers {
			jr.Headers[h.Key] = string(h.Value)
		}
	}
	return jr
}

// jsonRecord is one line of `consume --format json`.
type jsonRecord struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Timestamp int64             `json:"timestamp"`
	Time      string            `json:"time"`
	Key       *string           `json:"key"`
	Value     *string           `json:"value"`
	Headers   map[string]string `json:"headers,omitempty"`
}

func appendJSONRecord(dst []byte, r *kgo.Record) ([]byte, error) {
	b, err := json.Marshal(jsonRecordOf(r))
	if err != nil {
		return dst, fmt.Errorf("encode record %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	return append(append(dst, b...), '\n'), nil
}

// appendYAMLRecord appends r as one YAML document ("---" first), with the
// fields of appendJSONRecord.
func appendYAMLRecord(dst []byte, r *kgo.Record) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("---\n")
	if err := writeYAML(&b, jsonRecordOf(r)); err != nil {
		return dst, fmt.Errorf("encode record %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	return append(dst, b.Bytes()...), nil
}

func strOrNil(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}
