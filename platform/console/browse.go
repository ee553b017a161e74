package console

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The message browser reads one partition from an offset, or from the
// first record at or after a time, up to a limit. With neither it shows
// the newest records.
const (
	defaultBrowseLimit = 20
	maxBrowseLimit     = 500
	// maxShownBytes truncates a key or value on the page.
	maxShownBytes = 2048
	// timeLayout is what an HTML datetime-local input sends (seconds optional).
	timeLayout = "2006-01-02T15:04:05"
)

type browseQuery struct {
	Partition int32
	Offset    int64     // -1: not given
	Time      time.Time // zero: not given
	Limit     int
}

// OffsetText is the offset field's value on the form.
func (q browseQuery) OffsetText() string {
	if q.Offset < 0 {
		return ""
	}
	return strconv.FormatInt(q.Offset, 10)
}

// TimeText is the time field's value on the form.
func (q browseQuery) TimeText() string {
	if q.Time.IsZero() {
		return ""
	}
	return q.Time.UTC().Format(timeLayout)
}

type shownRecord struct {
	Offset  int64
	Time    string
	Key     string
	Value   string
	Headers []string
}

type browseResult struct {
	browseQuery
	Records []shownRecord
}

func parseBrowse(v url.Values, partitions int) (browseQuery, error) {
	q := browseQuery{Offset: -1, Limit: defaultBrowseLimit}
	if s := v.Get("partition"); s != "" {
		p, err := strconv.ParseInt(s, 10, 32)
		if err != nil || p < 0 || int(p) >= partitions {
			return q, fmt.Errorf("partition %q: give a number from 0 to %d", s, partitions-1)
		}
		q.Partition = int32(p)
	}
	if s := v.Get("limit"); s != "" {
		l, err := strconv.Atoi(s)
		if err != nil || l < 1 || l > maxBrowseLimit {
			return q, fmt.Errorf("limit %q: give a number from 1 to %d", s, maxBrowseLimit)
		}
		q.Limit = l
	}
	if s := v.Get("offset"); s != "" {
		o, err := strconv.ParseInt(s, 10, 64)
		if err != nil || o < 0 {
			return q, fmt.Errorf("offset %q: give a non-negative number", s)
		}
		q.Offset = o
	}
	if s := v.Get("time"); s != "" && q.Offset < 0 {
		t, err := parseTime(s)
		if err != nil {
			return q, fmt.Errorf("time %q: give YYYY-MM-DDTHH:MM[:SS] (UTC) or RFC 3339", s)
		}
		q.Time = t
	}
	return q, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, timeLayout, "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", s)
}

// browse reads the records q asks for. parts carries the partitions'
// start and end offsets, read just before.
func (c *Console) browse(ctx context.Context, seeds []string, topic string, q browseQuery, parts []partitionRow) (browseResult, error) {
	res := browseResult{browseQuery: q}
	var part partitionRow
	for _, p := range parts {
		if p.Partition == q.Partition {
			part = p
		}
	}
	from := max(part.Start, part.End-int64(q.Limit))
	switch {
	case q.Offset >= 0:
		from = max(q.Offset, part.Start)
	case !q.Time.IsZero():
		adm, _, err := c.adminClient()
		if err != nil {
			return res, err
		}
		offs, err := adm.ListOffsetsAfterMilli(ctx, q.Time.UnixMilli(), topic)
		if err != nil {
			return res, fmt.Errorf("find the offset at %s: %w", q.TimeText(), err)
		}
		o, ok := offs.Lookup(topic, q.Partition)
		if !ok || o.Err != nil {
			return res, fmt.Errorf("find the offset at %s: %v", q.TimeText(), o.Err)
		}
		from = o.Offset
		if from < 0 { // no record at or after that time
			from = part.End
		}
	}
	if from >= part.End {
		return res, nil
	}
	opts := append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ClientID("tributary-console-browser"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {q.Partition: kgo.NewOffset().At(from)}}),
		kgo.FetchMaxWait(200 * time.Millisecond)}, c.cfg.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return res, fmt.Errorf("browse %s/%d: %w", topic, q.Partition, err)
	}
	defer cl.Close()
	last := from - 1
	for len(res.Records) < q.Limit && last < part.End-1 {
		fs := cl.PollRecords(ctx, q.Limit-len(res.Records))
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("browse %s/%d: read %d records before the deadline: %w", topic, q.Partition, len(res.Records), err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return res, fmt.Errorf("browse %s/%d: %w", topic, q.Partition, ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			last = r.Offset
			if len(res.Records) < q.Limit {
				res.Records = append(res.Records, show(r))
			}
		})
	}
	return res, nil
}

func show(r *kgo.Record) shownRecord {
	s := shownRecord{Offset: r.Offset, Time: r.Timestamp.UTC().Format("2006-01-02 15:04:05.000"),
		Key: printable(r.Key), Value: printable(r.Value)}
	if r.Key == nil {
		s.Key = "(null)"
	}
	for _, h := range r.Headers {
		s.Headers = append(s.Headers, h.Key+"="+printable(h.Value))
	}
	return s
}

// printable shows text as it is and anything else as hex, truncated.
func printable(b []byte) string {
	cut := ""
	if len(b) > maxShownBytes {
		b, cut = b[:maxShownBytes], fmt.Sprintf(" … (%d more bytes)", len(b)-maxShownBytes)
	}
	if utf8.Valid(b) {
		ok := true
		for _, r := range string(b) {
			if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
				ok = false
				break
			}
		}
		if ok {
			return string(b) + cut
		}
	}
	return "0x" + hex.EncodeToString(b) + cut
}
