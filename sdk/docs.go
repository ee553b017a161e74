package sdk

import (
	"fmt"
	"strings"
)

// Markdown documents the spec as a Markdown table, one row per field in
// declaration order.
func (s ConfigSpec) Markdown() string {
	var b strings.Builder
	b.WriteString("| field | type | default | required | description |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, f := range s.Fields {
		def := ""
		if f.Default != "" && !f.Secret {
			def = "`" + f.Default + "`"
		}
		req := ""
		if f.Required {
			req = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.Name, f.Type, def, req, escapeCell(f.describe()))
	}
	return b.String()
}

// describe is the description with the constraints a reader needs.
func (f Field) describe() string {
	d := strings.TrimSpace(f.Description)
	var extra []string
	if len(f.Enum) > 0 {
		extra = append(extra, "one of: "+strings.Join(f.Enum, ", "))
	}
	if f.Min != nil {
		extra = append(extra, "min "+f.format(*f.Min))
	}
	if f.Max != nil {
		extra = append(extra, "max "+f.format(*f.Max))
	}
	if f.Secret {
		extra = append(extra, "secret")
	}
	if len(extra) > 0 {
		d += " (" + strings.Join(extra, "; ") + ")"
	}
	return d
}

func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
