package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a place in a manifest file. Line and Col are 1-based; a zero Line
// means the position is unknown (the problem concerns the whole file).
type Pos struct {
	File string
	Line int
	Col  int
}

// String renders the position as file:line:col, the form editors jump to.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Problem is one reason a set of manifests is invalid.
type Problem struct {
	Pos Pos
	// Path names the field, like spec.processors[2].filter; empty for
	// problems with a whole document or file.
	Path string
	// Msg says what is wrong, in words a user can act on.
	Msg string
}

// String renders the problem as `file:line:col: path: message`.
func (p Problem) String() string {
	if p.Path == "" {
		return fmt.Sprintf("%s: %s", p.Pos, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", p.Pos, p.Path, p.Msg)
}

// Problems lists every problem found, in file order once sorted. As an error
// it prints one problem per line.
type Problems []Problem

// Error lists every problem, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Sort orders the problems by file, line and column, keeping the order in
// which problems at the same place were found.
func (ps Problems) Sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
		)
	})
}

// Dedupe removes problems reported twice at the same place in the same
// words, as when two stages of validation find the same mistake. ps must be
// sorted.
func (ps Problems) Dedupe() Problems {
	return slices.Compact(ps)
}

// Add appends a problem.
func (ps *Problems) Add(pos Pos, path, format string, args ...any) {
	*ps = append(*ps, Problem{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)})
}
