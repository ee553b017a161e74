// Package pgtypes maps PostgreSQL values between their text form (what the
// server prints and parses) and JSON, for the CDC source's Debezium-style
// events and the sink's writes. It does no I/O: callers describe each
// column's type with a Type, built from a known OID (Builtin) or from the
// catalog (FromCatalog) for enums, domains, arrays of those and types of
// extensions.
//
// # Mapping (text form → JSON)
//
//	smallint, integer, bigint, oid      number
//	real, double precision              number; NaN and ±Infinity as strings
//	numeric                             string, every digit kept
//	boolean                             true / false
//	text, varchar, char, name, enums    string
//	date                                "2024-01-31" (ISO-8601)
//	time, timetz                        "13:45:00.5", "13:45:00+02:00"
//	timestamp                           "2024-01-31T13:45:00.5"
//	timestamptz                         "2024-01-31T13:45:00.5Z" (UTC)
//	interval                            "P1Y2M3DT4H5M6S" (ISO-8601 duration)
//	uuid                                string
//	json, jsonb                         the JSON value itself
//	bytea                               base64 string
//	arrays (any dimension)              JSON arrays of the element mapping
//	anything else                       its text form as a string
//
// The text forms assume the session settings the connector sets:
// DateStyle=ISO, IntervalStyle=iso_8601, TimeZone=UTC, bytea_output=hex,
// extra_float_digits=3. Infinite and BC dates and timestamps keep
// PostgreSQL's spelling ("infinity", "0044-03-15 BC"), which ISO-8601 lacks.
// A json or jsonb value that is the JSON null (including an element of a
// jsonb array) maps to null like SQL NULL, and is written back as SQL NULL.
//
// ToText is the inverse for writing: it turns a JSON value into text the
// server parses as the column's type, so a value read from one database and
// written to the same type in another compares equal.
//
// pgtypes imports only the standard library.
package pgtypes
