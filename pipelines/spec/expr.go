package spec

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Expr is an expression as written in a manifest, with where it was written,
// so a compile error inside it points at the right file, line and column.
type Expr struct {
	// Src is the expression text.
	Src string
	// Pos is where the text starts in the file.
	Pos Pos
	// Path names the field holding the expression.
	Path string
	// lines holds the file position of the start of each line of Src.
	lines []Pos
}

// IsZero reports whether no expression was given.
func (e Expr) IsZero() bool { return e.Src == "" && e.Pos.Line == 0 }

// PosAt maps an offset in Src, counted in runes as expr-lang reports it, to a
// position in the file. Lines of a literal block scalar (|) map exactly; for
// quoted scalars with escapes and folded scalars the column is approximate.
func (e Expr) PosAt(runeOffset int) Pos {
	if len(e.lines) == 0 {
		return e.Pos
	}
	line, col, seen := 0, 0, 0
	for _, r := range e.Src {
		if seen >= runeOffset {
			break
		}
		seen++
		if r == '\n' {
			line++
			col = 0
			continue
		}
		col++
	}
	if line >= len(e.lines) {
		line = len(e.lines) - 1
	}
	p := e.lines[line]
	p.Col += col
	return p
}

// exprFrom builds an Expr from a scalar node of file src.
func exprFrom(n *yaml.Node, file string, src []string, path string) Expr {
	e := Expr{Src: n.Value, Path: path, Pos: Pos{File: file, Line: n.Line, Col: n.Column}}
	switch n.Style {
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		e.Pos.Col++
		e.lines = []Pos{e.Pos}
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The text starts on the line after the indicator, at the block's
		// indentation, which is that of its first non-blank line.
		first := n.Line // 0-based index of the next line
		for first < len(src) && strings.TrimSpace(src[first]) == "" {
			first++
		}
		indent := 0
		if first < len(src) {
			indent = len(src[first]) - len(strings.TrimLeft(src[first], " "))
		}
		e.Pos = Pos{File: file, Line: first + 1, Col: indent + 1}
		for i := range strings.Count(n.Value, "\n") + 1 {
			e.lines = append(e.lines, Pos{File: file, Line: first + 1 + i, Col: indent + 1})
		}
	default:
		e.lines = []Pos{e.Pos}
	}
	return e
}
