package pgtypes

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func mustBuiltin(t testing.TB, oid uint32) Type {
	t.Helper()
	typ, ok := Builtin(oid)
	if !ok {
		t.Fatalf("no builtin type %d", oid)
	}
	return typ
}

// Built-in type OIDs used below.
const (
	oidBool, oidBytea, oidInt8, oidInt2, oidInt4, oidText, oidJSON       = 16, 17, 20, 21, 23, 25, 114
	oidFloat4, oidFloat8, oidDate, oidTime, oidTimestamp, oidTimestampTZ = 700, 701, 1082, 1083, 1114, 1184
	oidInterval, oidTimeTZ, oidNumeric, oidUUID, oidJSONB                = 1186, 1266, 1700, 2950, 3802
	oidInt4Array, oidTextArray, oidByteaArray, oidNumericArray, oidBox   = 1007, 1009, 1001, 1231, 603
	oidBoxArray, oidJSONBArray, oidTimestampTZArray                      = 1020, 3807, 1185
)

func TestToJSONAndBack(t *testing.T) {
	cases := []struct {
		oid  uint32
		text string // the server's text output
		json string // what AppendJSON gives
		back string // what ToText gives, when not text
	}{
		{oid: oidInt2, text: "-32768", json: "-32768"},
		{oid: oidInt4, text: "42", json: "42"},
		{oid: oidInt8, text: "9223372036854775807", json: "9223372036854775807"},
		{oid: oidNumeric, text: "12345678901234567890.000000000000000001", json: `"12345678901234567890.000000000000000001"`},
		{oid: oidNumeric, text: "NaN", json: `"NaN"`},
		{oid: oidFloat8, text: "1.5e-07", json: "1.5e-07"},
		{oid: oidFloat8, text: "0.30000000000000004", json: "0.30000000000000004"},
		{oid: oidFloat4, text: "Infinity", json: `"Infinity"`},
		{oid: oidFloat8, text: "-Infinity", json: `"-Infinity"`},
		{oid: oidFloat8, text: "NaN", json: `"NaN"`},
		{oid: oidBool, text: "t", json: "true", back: "true"},
		{oid: oidBool, text: "f", json: "false", back: "false"},
		{oid: oidText, text: "a \"quoted\"\n\ttab \\ ünï", json: `"a \"quoted\"\n\ttab \\ ünï"`},
		{oid: oidText, text: "", json: `""`},
		{oid: oidText, text: "\x01", json: `"\u0001"`},
		{oid: oidDate, text: "2024-02-29", json: `"2024-02-29"`},
		{oid: oidDate, text: "infinity", json: `"infinity"`},
		{oid: oidDate, text: "0044-03-15 BC", json: `"0044-03-15 BC"`},
		{oid: oidTime, text: "13:45:00.5", json: `"13:45:00.5"`},
		{oid: oidTimeTZ, text: "13:45:00+02", json: `"13:45:00+02:00"`, back: "13:45:00+02:00"},
		{oid: oidTimeTZ, text: "13:45:00-05:30", json: `"13:45:00-05:30"`},
		{oid: oidTimestamp, text: "2024-01-31 13:45:00.123456", json: `"2024-01-31T13:45:00.123456"`, back: "2024-01-31T13:45:00.123456"},
		{oid: oidTimestamp, text: "-infinity", json: `"-infinity"`},
		{oid: oidTimestampTZ, text: "2024-01-31 13:45:00+00", json: `"2024-01-31T13:45:00Z"`, back: "2024-01-31T13:45:00Z"},
		{oid: oidTimestampTZ, text: "2024-01-31 13:45:00.5+05:30", json: `"2024-01-31T13:45:00.5+05:30"`, back: "2024-01-31T13:45:00.5+05:30"},
		{oid: oidTimestampTZ, text: "0044-03-15 12:00:00+00 BC", json: `"0044-03-15 12:00:00+00 BC"`},
		{oid: oidInterval, text: "P1Y2M3DT4H5M6.5S", json: `"P1Y2M3DT4H5M6.5S"`},
		{oid: oidUUID, text: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", json: `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		{oid: oidJSON, text: `{"a": [1, "x"], "b": null}`, json: `{"a": [1, "x"], "b": null}`},
		{oid: oidJSONB, text: `"just a string"`, json: `"just a string"`},
		{oid: oidBytea, text: `\x00ff10`, json: `"AP8Q"`, back: `\x00ff10`},
		{oid: oidBytea, text: `\x`, json: `""`, back: `\x`},
		{oid: oidInt4Array, text: "{1,NULL,3}", json: "[1,null,3]", back: `{"1",NULL,"3"}`},
		{oid: oidInt4Array, text: "{{1,2},{3,4}}", json: "[[1,2],[3,4]]", back: `{{"1","2"},{"3","4"}}`},
		{oid: oidInt4Array, text: "[0:1]={7,8}", json: "[7,8]", back: `{"7","8"}`},
		{oid: oidInt4Array, text: "{}", json: "[]", back: "{}"},
		{oid: oidTextArray, text: `{"a b","with \"quote\"","back\\slash",NULL,"NULL",plain}`,
			json: `["a b","with \"quote\"","back\\slash",null,"NULL","plain"]`,
			back: `{"a b","with \"quote\"","back\\slash",NULL,"NULL","plain"}`},
		{oid: oidByteaArray, text: `{"\\x01",NULL}`, json: `["AQ==",null]`, back: `{"\\x01",NULL}`},
		{oid: oidNumericArray, text: "{1.10,NaN}", json: `["1.10","NaN"]`, back: `{"1.10","NaN"}`},
		{oid: oidTimestampTZArray, text: `{"2024-01-31 13:45:00+00"}`, json: `["2024-01-31T13:45:00Z"]`, back: `{"2024-01-31T13:45:00Z"}`},
		{oid: oidJSONBArray, text: `{"{\"a\": 1}","[1, 2]"}`, json: `[{"a": 1},[1, 2]]`, back: `{"{\"a\": 1}","[1, 2]"}`},
		{oid: oidBoxArray, text: "{(1,1),(0,0);(2,2),(1,1)}", json: `["(1,1),(0,0)","(2,2),(1,1)"]`, back: `{"(1,1),(0,0)";"(2,2),(1,1)"}`},
	}
	for _, c := range cases {
		typ := mustBuiltin(t, c.oid)
		got, err := AppendJSON(nil, typ, []byte(c.text))
		if err != nil {
			t.Errorf("%s %q: %v", typ.Name, c.text, err)
			continue
		}
		if string(got) != c.json {
			t.Errorf("%s %q: JSON %s, want %s", typ.Name, c.text, got, c.json)
		}
		if !json.Valid(got) {
			t.Errorf("%s %q: %s is not valid JSON", typ.Name, c.text, got)
		}
		back, null, err := ToText(typ, got)
		if err != nil || null {
			t.Errorf("%s %s: ToText: %v (null %v)", typ.Name, got, err, null)
			continue
		}
		want := c.back
		if want == "" {
			want = c.text
		}
		if string(back) != want {
			t.Errorf("%s %s: ToText %q, want %q", typ.Name, got, back, want)
		}
	}
}

func TestToTextShapes(t *testing.T) {
	text := mustBuiltin(t, oidText)
	cases := []struct {
		typ  Type
		raw  string
		want string
		null bool
		err  string
	}{
		{typ: text, raw: "null", null: true},
		{typ: text, raw: " 12.5 ", want: "12.5"},
		{typ: text, raw: "true", want: "true"},
		{typ: text, raw: `{"a":1}`, want: `{"a":1}`},
		{typ: mustBuiltin(t, oidInt4Array), raw: `"{1,2}"`, want: "{1,2}"},
		{typ: mustBuiltin(t, oidBytea), raw: `"***"`, err: "not base64"},
		{typ: text, raw: `"unterminated`, err: "string"},
		{typ: text, raw: ``, err: "empty"},
		{typ: mustBuiltin(t, oidJSON), raw: `{`, err: "not valid JSON"},
		{typ: mustBuiltin(t, oidInt4Array), raw: `[1,`, err: "array"},
	}
	for _, c := range cases {
		got, null, err := ToText(c.typ, []byte(c.raw))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ToText(%s, %q) error = %v, want %q", c.typ.Name, c.raw, err, c.err)
			}
			continue
		}
		if err != nil || null != c.null || string(got) != c.want {
			t.Errorf("ToText(%s, %q) = %q, %v, %v; want %q, %v", c.typ.Name, c.raw, got, null, err, c.want, c.null)
		}
	}
}

func TestMalformedText(t *testing.T) {
	cases := []struct {
		oid  uint32
		text string
		err  string
	}{
		{oidInt4, "4x", "not an integer"},
		{oidInt4, "", "not an integer"},
		{oidBool, "yes", "neither t nor f"},
		{oidJSON, "{", "not valid JSON"},
		{oidBytea, "0102", `\x`},
		{oidBytea, `\xzz`, "invalid byte"},
		{oidInt4Array, "{1,2", "unterminated"},
		{oidInt4Array, "1,2}", "want '{'"},
		{oidInt4Array, "{1,,2}", "empty element"},
		{oidInt4Array, "{1}x", "trailing"},
		{oidInt4Array, "[0:1]{1}", "bounds"},
		{oidTextArray, `{"abc}`, "unterminated quoted"},
		{oidTextArray, `{a"b}`, "unexpected"},
		{oidInt4Array, "{a}", "not an integer"},
	}
	for _, c := range cases {
		_, err := AppendJSON(nil, mustBuiltin(t, c.oid), []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("AppendJSON(%d, %q) error = %v, want %q", c.oid, c.text, err, c.err)
		}
	}
}

func TestFromCatalog(t *testing.T) {
	resolve := func(oid uint32) (Type, error) { return mustBuiltin(t, oid), nil }
	enum := CatalogEntry{OID: 16500, Name: "mood", Category: 'E', TypType: 'e', Delim: ','}
	cases := []struct {
		entry CatalogEntry
		kind  Kind
		elem  Kind
	}{
		{entry: enum, kind: Enum},
		{entry: CatalogEntry{OID: 16501, Name: "posint", Category: 'N', TypType: 'd', BaseType: oidInt4}, kind: Int},
		{entry: CatalogEntry{OID: 16502, Name: "_posint", Category: 'A', TypType: 'b', Elem: oidNumeric}, kind: Array, elem: Numeric},
		{entry: CatalogEntry{OID: 16503, Name: "hstore", Category: 'U', TypType: 'b'}, kind: Text},
	}
	for _, c := range cases {
		got, err := FromCatalog(c.entry, resolve)
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != c.kind || got.OID != c.entry.OID || got.Name != c.entry.Name {
			t.Errorf("FromCatalog(%s) = %+v, want kind %v", c.entry.Name, got, c.kind)
		}
		if c.kind == Array && (got.Elem == nil || got.Elem.Kind != c.elem) {
			t.Errorf("FromCatalog(%s) element = %+v, want %v", c.entry.Name, got.Elem, c.elem)
		}
	}
	// An array of an enum maps its elements as strings.
	arr, err := FromCatalog(CatalogEntry{OID: 16504, Name: "_mood", Category: 'A', Elem: 16500},
		func(uint32) (Type, error) { return FromCatalog(enum, resolve) })
	if err != nil {
		t.Fatal(err)
	}
	got, err := AppendJSON(nil, arr, []byte("{sad,happy}"))
	if err != nil || string(got) != `["sad","happy"]` {
		t.Errorf("enum array = %s, %v", got, err)
	}
	if _, ok := Builtin(999999); ok {
		t.Error("Builtin knows OID 999999")
	}
	if Array.String() != "array" || Kind(200).String() != "kind?" {
		t.Error("Kind.String")
	}
}

func TestAppendStringInvalidUTF8(t *testing.T) {
	got := AppendString(nil, []byte{'a', 0xff, 'b'})
	if !bytes.Equal(got, []byte("\"a\ufffdb\"")) {
		t.Errorf("AppendString = %q", got)
	}
}

// FuzzArray checks that the array parser never panics, always yields valid
// JSON, and that the literal ToText builds from that JSON parses back to
// the same JSON.
func FuzzArray(f *testing.F) {
	for _, s := range []string{"{1,2}", "{}", `{"a\"b",NULL}`, "{{1},{2}}", "[1:2]={x,y}", `{"\\x01"}`, "{ a , b }"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, textElems bool) {
		typ := mustBuiltin(t, oidInt4Array)
		if textElems {
			typ = mustBuiltin(t, oidTextArray)
		}
		js, err := AppendJSON(nil, typ, []byte(text))
		if err != nil {
			return
		}
		if !json.Valid(js) {
			t.Fatalf("%q gave invalid JSON %s", text, js)
		}
		lit, _, err := ToText(typ, js)
		if err != nil {
			t.Fatalf("ToText(%s): %v", js, err)
		}
		again, err := AppendJSON(nil, typ, lit)
		if err != nil || !bytes.Equal(again, js) {
			t.Fatalf("%q -> %s -> %q -> %s (%v)", text, js, lit, again, err)
		}
	})
}
