package process

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeValue(t *testing.T) {
	cases := []struct {
		raw  []byte
		want any
	}{
		{nil, nil},
		{[]byte(`{"a":1,"b":[true,null,1.5],"id":12345678901234567}`), map[string]any{"a": 1, "b": []any{true, nil, 1.5}, "id": 12345678901234567}},
		{[]byte(` [1, "x"] `), []any{1, "x"}},
		{[]byte(`"quoted"`), "quoted"},
		{[]byte(`42`), 42},
		{[]byte(`1e400`), "1e400"}, // not a float64: kept as text
		{[]byte(`123456789012345678901234567890`), 1.2345678901234568e29},
		{[]byte(`plain text`), "plain text"},
		{[]byte(`{"a":1} trailing`), `{"a":1} trailing`},
		{[]byte(`nope`), "nope"},
		{[]byte(""), ""},
		{[]byte("  "), "  "},
	}
	for _, c := range cases {
		if got := DecodeValue(c.raw); !reflect.DeepEqual(got, c.want) {
			t.Errorf("DecodeValue(%q) = %#v, want %#v", c.raw, got, c.want)
		}
	}
}

func TestEncodeValue(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{nil, ""},
		{"text <b>", "text <b>"},
		{[]byte("raw"), "raw"},
		{map[string]any{"b": 1, "a": "<x>"}, `{"a":"<x>","b":1}`},
		{[]any{1, 2.5, true}, `[1,2.5,true]`},
	}
	for _, c := range cases {
		b, err := EncodeValue(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("EncodeValue(%#v) = %q, %v; want %q", c.v, b, err, c.want)
		}
	}
	if _, err := EncodeValue(map[string]any{"f": func() {}}); err == nil {
		t.Error("EncodeValue of a func: no error")
	}
}

// TestUnchangedRecordKeepsItsBytes: a record only filtered is written with
// the bytes it came with, key order and spacing included.
func TestUnchangedRecordKeepsItsBytes(t *testing.T) {
	c := compileYAML(t, "    - filter: value.z == 1\n").NewChain()
	raw := `{ "z": 1,  "a": [1, 2] }`
	m := msg(0, "", raw)
	keep, err := c.Process(m)
	if err != nil || !keep {
		t.Fatalf("Process = %v, %v", keep, err)
	}
	if got := valueText(t, m); got != raw {
		t.Fatalf("value = %q, want the original %q", got, raw)
	}
}

// TestOnlyUsedPartsAreBuilt: an expression that reads no value does not
// decode it.
func TestOnlyUsedPartsAreBuilt(t *testing.T) {
	c := compileYAML(t, "    - filter: offset >= 0 && partition == 0 && topic == \"in\"\n").NewChain()
	m := msg(3, "", `{"big": "document"}`)
	if keep, err := c.Process(m); err != nil || !keep {
		t.Fatalf("Process = %v, %v", keep, err)
	}
	if m.decoded {
		t.Fatal("the value was decoded for an expression that does not read it")
	}
}

func TestFilter(t *testing.T) {
	c := compileYAML(t, "    - filter: value.level == \"error\" && value.latency > 100\n").NewChain()
	cases := []struct {
		value   string
		keep    bool
		errText string
	}{
		{`{"level":"error","latency":250}`, true, ""},
		{`{"level":"error","latency":50}`, false, ""},
		{`{"level":"info","latency":250}`, false, ""},
		{`{"level":"error","latency":"slow"}`, false, "invalid operation: string > int"},
		{`not json`, false, "(the value is text, not a JSON document)"},
	}
	for _, tc := range cases {
		keep, err := c.Process(msg(0, "", tc.value))
		if tc.errText != "" {
			var pe *Error
			if !errors.As(err, &pe) || pe.Index != 0 || pe.Type != "filter" || pe.Pos.Line != 10 || !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("%s: err = %v, want a processor 0 filter error at line 10 containing %q", tc.value, err, tc.errText)
			}
			continue
		}
		if err != nil || keep != tc.keep {
			t.Errorf("%s: Process = %v, %v; want %v", tc.value, keep, err, tc.keep)
		}
	}
}

func TestMap(t *testing.T) {
	c := compileYAML(t, `    - map:
        key: value.user
        value: '{"who": value.user, "n": value.n * 2, "had": headers.h, "key_before": key}'
        headers:
          source: '"pipeline"'
          n: value.n
          gone: nil
`).NewChain()
	m := msg(0, "k0", `{"user":"ada","n":21}`)
	m.Headers = []Header{{Key: "h", Value: []byte("v")}}
	if keep, err := c.Process(m); err != nil || !keep {
		t.Fatalf("Process = %v, %v", keep, err)
	}
	if string(m.Key) != "ada" {
		t.Errorf("key = %q", m.Key)
	}
	if got := valueText(t, m); got != `{"had":"v","key_before":"k0","n":42,"who":"ada"}` {
		t.Errorf("value = %s", got)
	}
	want := []Header{{Key: "source", Value: []byte("pipeline")}, {Key: "n", Value: []byte("21")}}
	if !reflect.DeepEqual(m.Headers, want) {
		t.Errorf("headers = %q, want %q", m.Headers, want)
	}
	// A map of only the key keeps value and headers.
	c = compileYAML(t, "    - map: {key: 'string(offset)'}\n").NewChain()
	m = msg(7, "", "same")
	m.Headers = []Header{{Key: "h", Value: []byte("v")}}
	if _, err := c.Process(m); err != nil || string(m.Key) != "7" || valueText(t, m) != "same" || len(m.Headers) != 1 {
		t.Errorf("key-only map: key %q value %q headers %v err %v", m.Key, valueText(t, m), m.Headers, err)
	}
}

func TestSetAndDelete(t *testing.T) {
	c := compileYAML(t, `    - set:
        value.env: '"prod"'
        value.meta.seen: 'true'
        value.copy: value.env
        headers.trace: '"t-1"'
        key: value.id
        timestamp: value.ts
    - delete: [value.secret, headers.drop, value.meta.nothing, value.missing.deep]
`).NewChain()
	m := msg(0, "old", `{"id":"u1","secret":"pw","ts":1000}`)
	m.Headers = []Header{{Key: "drop", Value: []byte("x")}, {Key: "trace", Value: []byte("old")}, {Key: "drop", Value: []byte("y")}}
	if keep, err := c.Process(m); err != nil || !keep {
		t.Fatalf("Process = %v, %v", keep, err)
	}
	if got := valueText(t, m); got != `{"copy":"prod","env":"prod","id":"u1","meta":{"seen":true},"ts":1000}` {
		t.Errorf("value = %s", got)
	}
	if string(m.Key) != "u1" || !m.Timestamp.Equal(time.UnixMilli(1000)) {
		t.Errorf("key %q timestamp %v", m.Key, m.Timestamp)
	}
	if !reflect.DeepEqual(m.Headers, []Header{{Key: "trace", Value: []byte("t-1")}}) {
		t.Errorf("headers = %q", m.Headers)
	}

	errCases := []struct {
		procs, value, want string
	}{
		{"    - set: {value.a.b: '1'}\n", `{"a": "text"}`, "value.a is a string, not an object with fields"},
		{"    - set: {value.x: '1'}\n", `[1,2]`, "the value is a list, not an object with fields"},
		{"    - set: {timestamp: '\"yesterday\"'}\n", `{}`, `"yesterday" is not an RFC 3339 time`},
		{"    - set: {timestamp: 'true'}\n", `{}`, "want a time, milliseconds since the epoch or an RFC 3339 text, got boolean"},
	}
	for _, ec := range errCases {
		_, err := compileYAML(t, ec.procs).NewChain().Process(msg(0, "", ec.value))
		if err == nil || !strings.Contains(err.Error(), ec.want) {
			t.Errorf("%s on %s: err = %v, want %q", strings.TrimSpace(ec.procs), ec.value, err, ec.want)
		}
	}

	// set on a null value starts an object; delete of key and value nulls them.
	c = compileYAML(t, "    - set: {value.a: '1', timestamp: '\"2024-01-02T03:04:05Z\"'}\n    - delete: [key]\n").NewChain()
	m = NewMessage([]byte("k"), nil)
	if _, err := c.Process(m); err != nil || valueText(t, m) != `{"a":1}` || m.Key != nil || m.Timestamp.Year() != 2024 {
		t.Errorf("null value: %q key %q ts %v err %v", valueText(t, m), m.Key, m.Timestamp, err)
	}
	c = compileYAML(t, "    - delete: value\n").NewChain()
	m = msg(0, "", `{"a":1}`)
	if _, err := c.Process(m); err != nil || m.Value() != nil {
		t.Errorf("delete value: %v %v", m.Value(), err)
	}
	if b, _ := m.ValueBytes(); b != nil {
		t.Errorf("deleted value encodes as %q, want a null value", b)
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		name, procs, value, want, errText string
	}{
		{"json", "    - parse: json\n", `{"a": [1]}`, `{"a":[1]}`, ""},
		{"json from a field into a field", "    - parse: {format: json, from: value.inner, into: value.parsed}\n",
			`{"inner": "{\"x\": 1}"}`, `{"inner":"{\"x\": 1}","parsed":{"x":1}}`, ""},
		{"logfmt", "    - parse: logfmt\n", `level=warn msg="disk \"sda\" full" took=12ms ok`,
			`{"level":"warn","msg":"disk \"sda\" full","ok":true,"took":"12ms"}`, ""},
		{"regexp", "    - parse: {format: regexp, pattern: '^(?P<ip>\\S+) (?P<method>[A-Z]+) (?P<path>\\S+)( (?P<opt>x))?$'}\n",
			`10.0.0.1 GET /index.html`, `{"ip":"10.0.0.1","method":"GET","path":"/index.html"}`, ""},
		{"json that is not", "    - parse: json\n", `{"a":`, "", "parse json: unexpected EOF"},
		{"logfmt that is not", "    - parse: logfmt\n", `a="unterminated`, "", "parse logfmt: column 3: the quoted value does not end"},
		{"regexp without a match", "    - parse: {format: regexp, pattern: '^(?P<n>\\d+)$'}\n", `abc`, "", `parse regexp: "abc" does not match the pattern`},
		{"from that is not text", "    - parse: {format: json, from: value.n}\n", `{"n": 1}`, "", "from: want text to parse, got number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := msg(0, "", tc.value)
			keep, err := compileYAML(t, tc.procs).NewChain().Process(m)
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want %q", err, tc.errText)
				}
				return
			}
			if err != nil || !keep {
				t.Fatalf("Process = %v, %v", keep, err)
			}
			if got := valueText(t, m); got != tc.want {
				t.Fatalf("value = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLogfmt(t *testing.T) {
	got, err := ParseLogfmt("  a=1\tb= c=\"\" d")
	want := map[string]any{"a": "1", "b": "", "c": "", "d": true}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseLogfmt = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "   ", "=v", `a"b=1`, `a=b"c`, `a="x"y`} {
		if _, err := ParseLogfmt(bad); err == nil {
			t.Errorf("ParseLogfmt(%q): no error", bad)
		}
	}
}

func TestRoute(t *testing.T) {
	cases := []struct {
		name, procs string
		value       string
		keep        bool
		outputs     []string
		errText     string
	}{
		{"first matching case", "    - route:\n        - {when: value.n > 10, to: a}\n        - {when: value.n > 5, to: [a, b]}\n", `{"n": 7}`, true, []string{"a", "b"}, ""},
		{"no case matches", "    - route:\n        - {when: value.n > 10, to: a}\n", `{"n": 1}`, false, nil, ""},
		{"default case", "    - route:\n        - {when: value.n > 10, to: a}\n        - to: b\n", `{"n": 1}`, true, []string{"b"}, ""},
		{"expression: a name", "    - route: 'value.n > 5 ? \"a\" : \"b\"'\n", `{"n": 9}`, true, []string{"a"}, ""},
		{"expression: a list", "    - route: '[\"b\", \"a\", \"b\"]'\n", `{}`, true, []string{"a", "b"}, ""},
		{"expression: nil drops", "    - route: 'nil'\n", `{}`, false, nil, ""},
		{"expression: unknown output", "    - route: '\"c\"'\n", `{}`, false, nil, `route: no output is called "c"`},
		{"expression: not names", "    - route: '[1]'\n", `{}`, false, nil, "route: want output names, got int in the list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := msg(0, "", tc.value)
			keep, err := compileYAML(t, tc.procs).NewChain().Process(m)
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want %q", err, tc.errText)
				}
				return
			}
			if err != nil || keep != tc.keep || !reflect.DeepEqual(m.Outputs(), tc.outputs) {
				t.Fatalf("Process = %v, %v, outputs %v; want %v, %v", keep, err, m.Outputs(), tc.keep, tc.outputs)
			}
		})
	}
}

func TestSample(t *testing.T) {
	prog := compileYAML(t, "    - sample: {rate: 0.3}\n")
	kept := func() []int64 {
		c := prog.NewChain()
		var out []int64
		for i := range int64(20000) {
			if keep, err := c.Process(msg(i, "", "x")); err != nil {
				t.Fatal(err)
			} else if keep {
				out = append(out, i)
			}
		}
		return out
	}
	first, second := kept(), kept()
	if n := len(first); n < 5700 || n > 6300 {
		t.Errorf("kept %d of 20000 at rate 0.3, want about 6000", n)
	}
	if !reflect.DeepEqual(first, second) {
		t.Error("sampling chose different records the second time")
	}
	// By key: every record of a key gets the same decision.
	c := compileYAML(t, "    - sample: {rate: 0.5, by: key}\n").NewChain()
	decision := map[string]bool{}
	for i := range int64(2000) {
		key := fmt.Sprintf("k%d", i%50)
		keep, err := c.Process(msg(i, key, "x"))
		if err != nil {
			t.Fatal(err)
		}
		if d, seen := decision[key]; seen && d != keep {
			t.Fatalf("key %s was kept and dropped", key)
		}
		decision[key] = keep
	}
	kept50 := 0
	for _, d := range decision {
		if d {
			kept50++
		}
	}
	if kept50 == 0 || kept50 == 50 {
		t.Errorf("%d of 50 keys kept at rate 0.5", kept50)
	}
}

func TestDedupe(t *testing.T) {
	c := compileYAML(t, "    - dedupe: {key: value.id, window: 10s, maxKeys: 3}\n").NewChain()
	at := func(sec int64, id string) bool {
		m := NewMessage(nil, []byte(`{"id":"`+id+`"}`))
		m.Timestamp = time.Unix(1_700_000_000+sec, 0)
		keep, err := c.Process(m)
		if err != nil {
			t.Fatal(err)
		}
		return keep
	}
	steps := []struct {
		sec  int64
		id   string
		keep bool
	}{
		{0, "a", true},
		{1, "a", false}, // within the window
		{9, "a", false},
		{2, "b", true},
		{10, "a", true}, // a's window (from t=0) has passed
		{11, "a", false},
		{12, "c", true},
		{12, "d", true}, // four keys: the oldest (b) is forgotten
		{12, "b", true},
		{12, "c", false},
	}
	for i, s := range steps {
		if got := at(s.sec, s.id); got != s.keep {
			t.Fatalf("step %d (t=%d, %s): keep = %v, want %v", i, s.sec, s.id, got, s.keep)
		}
	}
	c.Reset()
	if !at(12, "c") {
		t.Fatal("after Reset a key was still remembered")
	}
	// Numbers and strings that print alike are different keys.
	c = compileYAML(t, "    - dedupe: {key: value, window: 1m}\n").NewChain()
	for i, v := range []string{`1`, `"1"`} {
		if keep, err := c.Process(msg(int64(i), "", v)); err != nil || !keep {
			t.Errorf("value %s: keep %v err %v", v, keep, err)
		}
	}
}

// TestDedupeMemoryFollowsWindow: keys older than the window are forgotten
// as time moves on, so a long stream of distinct keys keeps memory bounded.
func TestDedupeMemoryFollowsWindow(t *testing.T) {
	c := compileYAML(t, "    - dedupe: {key: value, window: 1s}\n").NewChain()
	for i := range 100_000 {
		m := NewMessage(nil, []byte(fmt.Sprint(i)))
		m.Timestamp = time.UnixMilli(int64(i))
		if _, err := c.Process(m); err != nil {
			t.Fatal(err)
		}
	}
	d := c.stages[0].(*dedupeStage)
	if len(d.seen) > 1001 || len(d.order)-d.head > 1001 {
		t.Fatalf("remembering %d keys (%d in order) for a 1s window of 1 record per ms", len(d.seen), len(d.order)-d.head)
	}
}

// TestReadmeExpressions runs the expressions the README shows.
func TestReadmeExpressions(t *testing.T) {
	c := compileYAML(t, `    - filter: value.level in ["error", "fatal"] && value.latency_ms > 250
    - filter: key startsWith "eu-" && headers["tenant"] != "test"
    - filter: now() - timestamp < duration("1h")
    - filter: 'value["user-id"] == 7'
    - map:
        value: '{"user": value.user.id, "items": len(value.cart ?? [])}'
`).NewChain()
	m := NewMessage([]byte("eu-1"), []byte(`{"level":"fatal","latency_ms":300,"user-id":7,"user":{"id":"u7"}}`))
	m.Timestamp = time.Now().Add(-time.Minute)
	if keep, err := c.Process(m); err != nil || !keep {
		t.Fatalf("Process = %v, %v", keep, err)
	}
	if got := valueText(t, m); got != `{"items":0,"user":"u7"}` {
		t.Fatalf("value = %s", got)
	}
	_, err := compileYAML(t, "    - filter: 'len(1..10000000) > 0'\n").NewChain().Process(msg(0, "", "x"))
	if err == nil || !strings.Contains(err.Error(), "memory budget exceeded") {
		t.Fatalf("1..10000000: %v", err)
	}
}
