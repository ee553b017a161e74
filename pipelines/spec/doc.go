// Package spec is the manifest schema of Tributary's declarative YAML:
// documents with apiVersion tributary.io/v1, kind Topic, Connector or
// Pipeline, metadata.name and spec, several per file separated by ---.
//
// Parse decodes a file from yaml.v3 nodes rather than into structs, so it
// can report every problem — unknown fields (with a suggestion), wrong
// types, missing fields, bad names, impossible combinations — each at the
// file, line and column where it is, all at once. Parsing never stops at the
// first problem: accessors report and return zero values, and decoding goes
// on. Only a YAML syntax error ends a file early, since yaml.v3 cannot go on.
//
// Expressions are kept as Expr values that know where their text is in the
// file, so a compile error at a column inside an expression maps back to the
// file. Compiling them is package process's job; spec checks structure only.
//
// spec imports only yaml.v3 and the standard library.
package spec
