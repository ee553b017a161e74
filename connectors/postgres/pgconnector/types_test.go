package pgconnector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// typeCases are the mapped types: a column type, a value literal and the
// JSON the event carries for it.
var typeCases = []struct {
	sqlType, literal, json string
}{
	{"smallint", "32767", "32767"},
	{"integer", "-2147483648", "-2147483648"},
	{"bigint", "9223372036854775807", "9223372036854775807"},
	{"numeric(30,10)", "12345678901234567890.0123456789", `"12345678901234567890.0123456789"`},
	{"numeric", "'NaN'", `"NaN"`},
	{"real", "1.5", "1.5"},
	{"double precision", "0.1", "0.1"},
	{"double precision", "'-Infinity'", `"-Infinity"`},
	{"boolean", "true", "true"},
	{"text", `E'h\u00e9llo "q" \\ \n'`, `"héllo \"q\" \\ \n"`},
	{"varchar(10)", "'abc'", `"abc"`},
	{"char(3)", "'ab'", `"ab "`},
	{"date", "'2024-02-29'", `"2024-02-29"`},
	{"time", "'13:45:00.123456'", `"13:45:00.123456"`},
	{"timetz", "'13:45:00+02'", `"13:45:00+02:00"`},
	{"timestamp", "'2024-01-31 13:45:00.5'", `"2024-01-31T13:45:00.5"`},
	{"timestamptz", "'2024-01-31 13:45:00.5+02'", `"2024-01-31T11:45:00.5Z"`},
	{"timestamptz", "'infinity'", `"infinity"`},
	{"interval", "'1 year 2 months 3 days 04:05:06.5'", `"P1Y2M3DT4H5M6.5S"`},
	{"uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
	{"json", `'{"b": [1, 2], "a": null}'`, `{"b": [1, 2], "a": null}`},
	{"jsonb", `'{"b": [1, 2], "a": {"c": "d"}}'`, `{"a": {"c": "d"}, "b": [1, 2]}`},
	{"bytea", `'\xdeadbeef'`, `"3q2+7w=="`},
	{"integer[]", "'{{1,2},{3,NULL}}'", "[[1,2],[3,null]]"},
	{"text[]", `'{"a,b","c\"d",NULL}'`, `["a,b","c\"d",null]`},
	{"double precision[]", "'{1.5,NaN}'", `[1.5,"NaN"]`},
	{"timestamptz[]", `'{"2024-01-31 13:45:00+00"}'`, `["2024-01-31T13:45:00Z"]`},
	{"numeric[]", "'{1.10,NULL,-3}'", `["1.10",null,"-3"]`},
	{"boolean[]", "'{t,f}'", "[true,false]"},
	{"bytea[]", `ARRAY['\x00ff'::bytea]`, `["AP8="]`},
	{"uuid[]", "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'", `["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]`},
	{"jsonb[]", `ARRAY['{"a": 1}'::jsonb, '[2]'::jsonb]`, `[{"a": 1}, [2]]`},
	{"date[]", "'{2024-02-29,infinity}'", `["2024-02-29","infinity"]`},
	{"interval", "'-1 day -00:00:01.25'", `"P-1DT-1.25S"`},
	{"time", "'24:00:00'", `"24:00:00"`},
	{"timestamp", "'0044-03-15 12:00:00 BC'", `"0044-03-15 12:00:00 BC"`}, // as pgtypes documents
	{"mood", "'happy'", `"happy"`},
	{"mood[]", "'{sad,happy}'", `["sad","happy"]`},
	{"posint", "5", "5"},
	{"inet", "'10.0.0.1/8'", `"10.0.0.1/8"`},
	{"point", "'(1,2)'", `"(1,2)"`},
	{"money", "1.5", `"$1.50"`},
}

const typesSetup = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE DOMAIN posint AS integer CHECK (VALUE > 0)"

func typesTable() string {
	cols := []string{"id int PRIMARY KEY"}
	for i, c := range typeCases {
		cols = append(cols, fmt.Sprintf("c%d %s", i, c.sqlType))
	}
	return "CREATE TABLE types (" + strings.Join(cols, ", ") + ")"
}

func typesInsert(id int, null bool) string {
	vals := []string{fmt.Sprint(id)}
	for _, c := range typeCases {
		if null {
			vals = append(vals, "NULL")
		} else {
			vals = append(vals, c.literal)
		}
	}
	return "INSERT INTO types VALUES (" + strings.Join(vals, ", ") + ")"
}

// TestTypesRoundTrip checks every mapped type: the JSON of a snapshot row
// and of a streamed row, and that the sink writes it back to the same type
// in another database so that the two tables compare equal.
func TestTypesRoundTrip(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	dbA, dbB := srv.NewDatabase(t), srv.NewDatabase(t)
	a, b := srv.Connect(t, dbA), srv.Connect(t, dbB)
	for _, conn := range []*pgconnLike{{a}, {b}} {
		pgtest.Exec(t, conn.c, typesSetup+"; "+typesTable())
	}
	pgtest.Exec(t, a, typesInsert(1, false)+"; "+typesInsert(2, true))
	src := sdktest.OpenSource(t, target, sourceConfig(srv, dbA, nil), nil)
	defer src.Close()
	snap := readAll(t, src, 2)
	pgtest.Exec(t, a, typesInsert(3, false)+"; "+typesInsert(4, true))
	stream := readAll(t, src, 2)

	for _, r := range append(snap, stream...) {
		var ev struct {
			After map[string]json.RawMessage `json:"after"`
			Op    string                     `json:"op"`
		}
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			t.Fatalf("%s: %v", r.Value, err)
		}
		id := string(ev.After["id"])
		for i, c := range typeCases {
			got := ev.After[fmt.Sprintf("c%d", i)]
			want := c.json
			if id == "2" || id == "4" {
				want = "null"
			}
			if !sameJSON(t, got, []byte(want)) {
				t.Errorf("row %s (op %s) %s %s: JSON %s, want %s", id, ev.Op, c.sqlType, c.literal, got, want)
			}
		}
	}

	sink := sdktest.OpenSink(t, target, withConfig(srv.ConnectorConfig(dbB), map[string]string{"table": "types"}))
	defer sink.Close()
	if err := sink.Write(context.Background(), append(snap, stream...)); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	compareTables(t, a, b, "types", "id")
}

type pgconnLike struct{ c *pgconn.PgConn }

// sameJSON compares two JSON texts as values (numbers by their digits).
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	for _, p := range []struct {
		raw []byte
		v   *any
	}{{a, &x}, {b, &y}} {
		dec := json.NewDecoder(bytes.NewReader(p.raw))
		dec.UseNumber()
		if err := dec.Decode(p.v); err != nil {
			t.Errorf("invalid JSON %s: %v", p.raw, err)
			return false
		}
	}
	return reflect.DeepEqual(x, y)
}

func withConfig(base, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// compareTables fails unless table has the same rows, compared as text, in
// both connections' databases.
func compareTables(t testing.TB, a, b *pgconn.PgConn, table, orderBy string) {
	t.Helper()
	q := fmt.Sprintf("SELECT t::text FROM %s t ORDER BY %s", table, orderBy)
	ra, rb := pgtest.Query(t, a, q), pgtest.Query(t, b, q)
	if len(ra) != len(rb) {
		t.Fatalf("%s: %d rows in A, %d in B", table, len(ra), len(rb))
	}
	for i := range ra {
		if *ra[i][0] != *rb[i][0] {
			t.Errorf("%s row %d:\nA: %s\nB: %s", table, i, *ra[i][0], *rb[i][0])
		}
	}
}
