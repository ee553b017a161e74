// Package process runs a pipeline's processors on records.
//
// Compile turns a spec.Pipeline's processors into a Program, compiling every
// expression once with expr-lang/expr against Env, the typed record
// environment (key, value, headers, timestamp, topic, partition, offset), so
// name and type errors are found before anything runs, each at its place in
// the manifest. A Program is immutable and shared; each goroutine runs it
// through its own Chain, which owns the expression VM, the environment and
// the state of stateful processors (dedupe):
//
//	prog, problems := process.Compile(name, pipelineSpec)
//	chain := prog.NewChain()
//	for each record {
//		m := process.NewMessage(key, value) // plus headers, timestamp, topic, ...
//		keep, err := chain.Process(m)       // err is a *process.Error: send to error handling
//		if keep { write m to m.Outputs() (nil: every output) }
//	}
//	chain.Reset() // when records already processed will come again (aborted transaction)
//
// # Cost limits
//
// spec.Limits bounds expressions three ways: the syntax tree's node count at
// compile time, the memory one run may allocate (expr-lang's VM memory
// budget), and the time all processors may spend on one record. The time
// budget is checked after each processor and, because the compiler patches
// a check into the body of every predicate (all, map, filter, reduce, ...),
// inside every loop an expression runs, so no expression can run away.
//
// # Values
//
// A value is decoded on first use: a JSON document becomes maps, slices,
// strings, bools, ints (integers that fit, so ids keep their digits) and
// float64s; other bytes become a string. A record that no processor changes
// is written with exactly the bytes it came with.
//
// process imports spec and expr-lang/expr; it knows nothing of Kafka clients.
package process
