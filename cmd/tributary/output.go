package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"
)

// Output formats of --output. Table is for people; JSON and YAML carry the
// same fields under the same names, for scripts.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

// outputFormats is the --output help and error text.
const outputFormats = "table, json or yaml"

// checkOutput reports an unknown --output value as a usage error.
func checkOutput(format string) error {
	switch format {
	case outputTable, outputJSON, outputYAML:
		return nil
	}
	return usageErrorf("--output %q: want %s", format, outputFormats)
}

// writeStructured prints v as JSON or YAML by format (json or yaml).
func writeStructured(w io.Writer, format string, v any) error {
	if format == outputYAML {
		return writeYAML(w, v)
	}
	return writeJSON(w, v)
}

// writeYAML prints v as a YAML document. v goes through its JSON encoding
// first, so the keys, omitted fields and value shapes are exactly those of
// --output json (the structs carry json tags only).
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write yaml: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("write yaml: %w", err)
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("write yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write yaml: %w", err)
	}
	return nil
}

// blockStyle drops the flow style and quoting that parsing JSON left on the
// nodes; the encoder then quotes only the strings that need it ("123", "true").
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// writeTable prints rows under an upper-case header, columns aligned with two
// spaces between them.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// joinInts prints a replica list as Kafka's tools do: "1,2,3".
func joinInts(xs []int32) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatInt(int64(x), 10)
	}
	return strings.Join(parts, ",")
}

func itoa[T ~int | ~int16 | ~int32 | ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }

// actionResult is what a command that changes one object prints with
// --output json or yaml: which object and what happened to it.
type actionResult struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Result string `json:"result"`
}

// reportDone tells what an action did to kind/name: the sentence text on a
// table output, an actionResult otherwise.
func reportDone(c *cli, format, kind, name, result, text string) error {
	if format == outputTable || format == "" {
		_, err := fmt.Fprintln(c.stdout, text)
		return err
	}
	return writeStructured(c.stdout, format, actionResult{Kind: kind, Name: name, Result: result})
}
