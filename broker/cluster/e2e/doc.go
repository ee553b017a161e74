// Package e2e runs a three-node Tributary cluster as three `tributary serve`
// processes on loopback (the binary is built once by TestMain) and checks
// failover with real SIGKILLs: acknowledged records survive, replicas agree
// byte for byte up to the high watermark, followers catch up and rejoin the
// ISR, a divergent tail is truncated. BenchmarkLeaderFailover reports the
// time from a leader's SIGKILL to the first produce on its successor
// (go test -run '^$' -bench LeaderFailover -benchtime=1x). It holds tests only.
package e2e
