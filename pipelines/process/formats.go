package process

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ParseLogfmt parses a logfmt line, `level=info msg="hello there" ok`, into
// an object of strings. A key without '=' is true. Values stay text: convert
// them in expressions with int(), float() or duration().
func ParseLogfmt(line string) (map[string]any, error) {
	out := map[string]any{}
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			break
		}
		start := i
		for i < len(line) && line[i] != '=' && !isSpace(line[i]) && line[i] != '"' {
			i++
		}
		key := line[start:i]
		if key == "" {
			return nil, fmt.Errorf("column %d: want a key, got %q", start+1, line[start])
		}
		if i >= len(line) || isSpace(line[i]) {
			out[key] = true
			continue
		}
		if line[i] == '"' {
			return nil, fmt.Errorf("column %d: a key cannot contain a quote", i+1)
		}
		i++ // '='
		if i < len(line) && line[i] == '"' {
			end, val, err := quoted(line, i)
			if err != nil {
				return nil, err
			}
			out[key], i = val, end
			if i < len(line) && !isSpace(line[i]) {
				return nil, fmt.Errorf("column %d: want a space after the quoted value of %s", i+1, key)
			}
			continue
		}
		vs := i
		for i < len(line) && !isSpace(line[i]) {
			if line[i] == '"' {
				return nil, fmt.Errorf("column %d: a quote inside the unquoted value of %s", i+1, key)
			}
			i++
		}
		out[key] = line[vs:i]
	}
	if len(out) == 0 {
		return nil, errors.New("no key=value pairs")
	}
	return out, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// quoted reads the Go-style quoted string starting at line[i] == '"' and
// returns the index after it and its value.
func quoted(line string, i int) (int, string, error) {
	j := i + 1
	for j < len(line) {
		switch line[j] {
		case '\\':
			j += 2
			continue
		case '"':
			val, err := strconv.Unquote(line[i : j+1])
			if err != nil {
				return 0, "", fmt.Errorf("column %d: bad quoted value: %w", i+1, err)
			}
			return j + 1, val, nil
		}
		j++
	}
	return 0, "", fmt.Errorf("column %d: the quoted value does not end", i+1)
}

// parseRegexp matches text against re and returns its named groups that
// took part in the match.
func parseRegexp(re *regexp.Regexp, text string) (map[string]any, error) {
	idx := re.FindStringSubmatchIndex(text)
	if idx == nil {
		return nil, fmt.Errorf("%q does not match the pattern", clipText(text))
	}
	out := map[string]any{}
	for g, name := range re.SubexpNames() {
		if name == "" || idx[2*g] < 0 {
			continue
		}
		out[name] = text[idx[2*g]:idx[2*g+1]]
	}
	return out, nil
}

func clipText(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
