package process

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNodeLimit(t *testing.T) {
	_, probs := tryCompile("    - filter: offset > 1 && offset > 2 && offset > 3\n", "  limits: {maxNodes: 7}\n")
	if len(probs) != 1 || !strings.Contains(probs[0].Msg, "the expression is too big: more than 7 nodes") || probs[0].Pos.Line != 11 {
		t.Fatalf("problems = %v, want one about the node limit at line 11", probs)
	}
	if _, probs := tryCompile("    - filter: offset > 1 && offset > 2\n", "  limits: {maxNodes: 7}\n"); len(probs) > 0 {
		t.Fatalf("a 7-node expression does not compile with maxNodes 7: %v", probs)
	}
}

func TestMemoryBudget(t *testing.T) {
	c := compileYAML(t, "    - filter: 'len(map(1..100000, # * 2)) > 0'\n", "  limits: {memoryBudget: 1000}\n").NewChain()
	_, err := c.Process(msg(0, "", "x"))
	if err == nil || !strings.Contains(err.Error(), "memory budget exceeded") {
		t.Fatalf("err = %v, want the memory budget exceeded", err)
	}
	c = compileYAML(t, "    - filter: 'len(map(1..100, # * 2)) > 0'\n", "  limits: {memoryBudget: 1000}\n").NewChain()
	if keep, err := c.Process(msg(0, "", "x")); err != nil || !keep {
		t.Fatalf("a small expression within the budget: %v, %v", keep, err)
	}
}

// bigArray is a JSON array of n zeros, for loops that allocate nothing.
func bigArray(n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat("0,", n), ",") + "]"
}

// TestTimeBudgetStopsLoops: nested loops that would run 10^9 iterations stop
// at the time budget, on a fake clock that moves 1ms per reading.
func TestTimeBudgetStopsLoops(t *testing.T) {
	var readings int
	now := time.Unix(0, 0)
	clock := func() time.Time {
		readings++
		now = now.Add(time.Millisecond)
		return now
	}
	c := compileYAML(t, "    - filter: 'all(value, all(value, all(value, # >= 0)))'\n", "  limits: {recordTimeout: 50ms}\n").NewChain(WithClock(clock))
	_, err := c.Process(msg(0, "", bigArray(1000)))
	if !errors.Is(err, ErrTimeBudget) {
		t.Fatalf("err = %v, want ErrTimeBudget", err)
	}
	if readings < 50 || readings > 60 {
		t.Fatalf("the clock was read %d times; want the loop stopped just after 50ms (about 51 readings)", readings)
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Type != "filter" {
		t.Fatalf("err = %v, want a *process.Error of the filter", err)
	}
}

// TestTimeBudgetRealClock: the same on the real clock; the record fails
// well before the loops could end.
func TestTimeBudgetRealClock(t *testing.T) {
	c := compileYAML(t, "    - filter: 'all(value, all(value, all(value, # >= 0)))'\n", "  limits: {recordTimeout: 20ms}\n").NewChain()
	start := time.Now()
	_, err := c.Process(msg(0, "", bigArray(1000)))
	if !errors.Is(err, ErrTimeBudget) {
		t.Fatalf("err = %v, want ErrTimeBudget", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the runaway expression ran %s", took)
	}
	// The chain works for the next record.
	if keep, err := c.Process(msg(1, "", "[1, 2]")); err != nil || !keep {
		t.Fatalf("next record: %v, %v", keep, err)
	}
}

// TestTimeBudgetAcrossProcessors: the budget covers all processors of a
// record; it is checked after each.
func TestTimeBudgetAcrossProcessors(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(60 * time.Millisecond); return now }
	c := compileYAML(t, "    - filter: 'true'\n    - filter: 'true'\n    - filter: 'true'\n", "  limits: {recordTimeout: 100ms}\n").NewChain(WithClock(clock))
	_, err := c.Process(msg(0, "", "x"))
	var pe *Error
	if !errors.As(err, &pe) || pe.Index != 1 || !errors.Is(err, ErrTimeBudget) {
		t.Fatalf("err = %v, want the time budget exceeded after processor 1", err)
	}
}

// TestLoopsStillWork: the budget check patched into predicates does not
// change what builtins compute.
func TestLoopsStillWork(t *testing.T) {
	cases := []string{
		`filter(value, # > 1) == [2, 3]`,
		`map(value, # * 10) == [10, 20, 30]`,
		`reduce(value, #acc + #, 0) == 6`,
		`count(value, # % 2 == 1) == 2`,
		`sum(map(value, #)) == 6`,
		`sortBy(value, -#)[0] == 3`,
		`len(groupBy(value, # % 2)) == 2`,
		`any(value, # == 3) && none(value, # > 3) && one(value, # == 2)`,
		`find(value, # > 1) == 2 && findIndex(value, # > 1) == 1 && findLast(value, # < 3) == 2`,
		`let xs = map(1..3, # + 1); xs[2] == 4`,
		`__tick($env) == nil`,
	}
	for _, src := range cases {
		c := compileYAML(t, "    - filter: '"+src+"'\n").NewChain()
		keep, err := c.Process(msg(0, "", "[1, 2, 3]"))
		if err != nil || !keep {
			t.Errorf("%s: %v, %v", src, keep, err)
		}
	}
}

func TestRepeatIsDisabled(t *testing.T) {
	_, probs := tryCompile("    - map: {value: 'repeat(\"x\", 1000000000)'}\n")
	if len(probs) != 1 || !strings.Contains(probs[0].Msg, "repeat") {
		t.Fatalf("problems = %v, want repeat refused", probs)
	}
}
