package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// completeCommand is the hidden command the shell scripts call to list
// candidates for the word being completed; it is not in the usage.
const completeCommand = "__complete"

// runCompletion prints a completion script for bash or zsh. The scripts ask
// the binary itself (tributary __complete WORDS...) for candidates, so they
// never go stale as commands and flags change.
func runCompletion(_ context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "completion", "completion bash|zsh\n\n"+
		"  bash: source <(tributary completion bash)   (or save it in /etc/bash_completion.d/tributary)\n"+
		"  zsh:  source <(tributary completion zsh)    (or save it as _tributary in a directory of $fpath)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("name the shell: bash or zsh")
	}
	var script string
	switch rest[0] {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	default:
		return usageErrorf("shell %q: want bash or zsh", rest[0])
	}
	_, err = io.WriteString(c.stdout, script)
	return err
}

const bashCompletion = `# bash completion for tributary; source it, or save it in /etc/bash_completion.d/.
_tributary() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local IFS=$'\n'
    local cands
    cands=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    COMPREPLY=($(compgen -W "$cands" -- "$cur"))
}
complete -o default -F _tributary tributary
`

const zshCompletion = `#compdef tributary
# zsh completion for tributary; source it, or save it as _tributary in $fpath.
_tributary() {
    local -a cands
    cands=("${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if (( ${#cands} )) && [[ -n "${cands[1]}" ]]; then
        compadd -a cands
    else
        _files
    fi
}
if [[ "${funcstack[1]}" == "_tributary" ]]; then
    _tributary "$@"
else
    compdef _tributary tributary
fi
`

// runComplete prints, one per line, the candidates for the last of words
// (the word being typed, possibly empty); words are those after "tributary".
// It learns actions and flags from each command's own help, so it needs no
// table of its own. Topic and group names (the values of --topic and
// --group, and the argument of topic and group actions) are asked of the
// cluster the words' --bootstrap names, within completeBudget; other
// values are left to the shell (file names).
func runComplete(ctx context.Context, c *cli, words []string) error {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	var cands []string
	switch {
	case len(words) == 1:
		for _, cmd := range commands() {
			cands = append(cands, cmd.name)
		}
		cands = append(cands, "help")
	case len(words) >= 3 && (words[len(words)-2] == "--output" || words[len(words)-2] == "-output"):
		cands = []string{outputTable, outputJSON, outputYAML}
	case nameToComplete(words) != noName:
		cands = completeNames(ctx, c, nameToComplete(words), words, cur)
	case words[0] == "completion" && len(words) == 2:
		cands = []string{"bash", "zsh"}
	case words[0] == "log-level" && len(words) == 2:
		cands = []string{"get", "set"}
	case words[0] == "log-level" && len(words) == 3 && words[1] == "set":
		cands = []string{"debug", "info", "warn", "error"}
	default:
		help := commandHelp(ctx, c, words[0], words[1:len(words)-1])
		if strings.HasPrefix(cur, "-") {
			cands = helpFlags(help)
		} else if len(words) == 2 {
			cands = helpActions(help)
		}
	}
	for _, s := range cands {
		if strings.HasPrefix(s, cur) {
			fmt.Fprintln(c.stdout, s)
		}
	}
	return nil
}

// commandHelp runs `tributary NAME [ACTION] -h` in-process and returns what it
// printed. Only the first earlier word that is not a flag is taken as the
// action, so "topic create NAME --p" asks `topic create -h`.
func commandHelp(ctx context.Context, c *cli, name string, earlier []string) string {
	args := []string{}
	for _, w := range earlier {
		if !strings.HasPrefix(w, "-") {
			args = append(args, w)
			break
		}
	}
	args = append(args, "-h")
	var out strings.Builder
	probe := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &out, env: c.env, exit: func(int) {}}
	// A cancelled context: asking for help must never start any work.
	done, cancel := context.WithCancel(ctx)
	cancel()
	for _, cmd := range commands() {
		if cmd.name == name {
			_ = cmd.run(done, probe, args)
		}
	}
	return out.String()
}

// helpFlags lists the flags in a flag set's PrintDefaults output
// ("  -name value" lines) as --name.
func helpFlags(help string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "  -") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(line, "  -"), " ")
		name, _, _ = strings.Cut(name, "\t")
		if name != "" {
			out = append(out, "--"+name)
		}
	}
	return out
}

// helpActions lists the actions under "Actions:" (or perf's "Modes:") in a
// command's help.
func helpActions(help string) []string {
	var out []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Actions:"), strings.HasPrefix(line, "Modes:"):
			in = true
		case in && strings.HasPrefix(line, "  "):
			if f := strings.Fields(line); len(f) > 0 {
				out = append(out, f[0])
			}
		case in:
			in = false
		}
	}
	return out
}
