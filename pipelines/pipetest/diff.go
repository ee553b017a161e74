package pipetest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/process"
)

// diff compares the expected records of a topic with those produced, in
// order, and renders the differences like a unified diff: "-" for an
// expected record that was not produced, "+" for a produced record that was
// not expected, and two spaces for records that match. It is empty when
// everything matches.
func diff(want []Record, got []*kgo.Record) string {
	n, m := len(want), len(got)
	// lcs[i][j] is the longest common subsequence of want[i:] and got[j:].
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if matches(want[i], got[j]) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	if lcs[0][0] == n && n == m {
		return ""
	}
	shown := fieldsShown(want)
	var b strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && matches(want[i], got[j]) && lcs[i][j] == lcs[i+1][j+1]+1:
			fmt.Fprintf(&b, "        %s\n", renderWant(want[i]))
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&b, "      + %s\n", render(got[j], shown))
			j++
		default:
			fmt.Fprintf(&b, "      - %s\n", renderWant(want[i]))
			i++
		}
	}
	return b.String()
}

// fieldsShown is the union of the fields the expected records give, so a
// produced record is shown with what it is compared on.
func fieldsShown(want []Record) Record {
	var s Record
	empty := ""
	for _, w := range want {
		if w.Key != nil {
			s.Key = &empty
		}
		if w.ValueGiven {
			s.ValueGiven = true
		}
		if w.Headers != nil {
			s.Headers = map[string]string{}
		}
		if w.Timestamp != nil {
			s.Timestamp = &time.Time{}
		}
	}
	if len(want) == 0 {
		s.ValueGiven = true
	}
	return s
}

func renderWant(w Record) string {
	var parts []string
	if w.Key != nil {
		parts = append(parts, "key="+strconv.Quote(*w.Key))
	}
	if w.ValueGiven {
		parts = append(parts, "value="+renderValue(w.Value))
	}
	if w.Headers != nil {
		parts = append(parts, "headers="+renderHeaders(w.Headers))
	}
	if w.Timestamp != nil {
		parts = append(parts, "timestamp="+w.Timestamp.UTC().Format(time.RFC3339Nano))
	}
	return strings.Join(parts, " ")
}

// render shows the fields of r that like gives (key also when r has one
// and like has none at all).
func render(r *kgo.Record, like Record) string {
	var parts []string
	if like.Key != nil {
		if r.Key == nil {
			parts = append(parts, "key=null")
		} else {
			parts = append(parts, "key="+strconv.Quote(string(r.Key)))
		}
	}
	if like.ValueGiven {
		parts = append(parts, "value="+renderBytes(r.Value))
	}
	if like.Headers != nil {
		parts = append(parts, "headers="+renderHeaders(headersOf(r)))
	}
	if like.Timestamp != nil {
		parts = append(parts, "timestamp="+r.Timestamp.UTC().Format(time.RFC3339Nano))
	}
	return strings.Join(parts, " ")
}

func renderValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return renderBytes([]byte(x))
	}
	b, err := process.EncodeValue(jsonable(v))
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return renderBytes(b)
}

// renderBytes shows JSON objects and arrays compact with sorted keys, other
// bytes as a quoted string.
func renderBytes(b []byte) string {
	if b == nil {
		return "null"
	}
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		if v, err := process.ParseJSON(b); err == nil {
			if out, err := process.EncodeValue(v); err == nil {
				return string(out)
			}
		}
	}
	return strconv.Quote(string(b))
}

func renderHeaders(h map[string]string) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + strconv.Quote(h[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
