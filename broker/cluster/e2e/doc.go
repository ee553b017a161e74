// Package e2e runs a three-node Tributary cluster as three `tributary serve`
// processes on loopback (platform/nodetest builds the binary once in TestMain
// and runs each node on fixed ports with the raft flags) and checks
// failover with real SIGKILLs: acknowledged records survive, replicas agree
// byte for byte up to the high watermark, followers catch up and rejoin the
// ISR, a divergent tail is truncated; consumer groups survive the SIGKILL of
// their coordinator's node mid-rebalance, static members keep their
// partitions, committed offsets survive rolling kills. Decisions about the
// cluster's state wait until every live node, asked on its own, agrees
// (waitAgreed): a shared client's metadata can lag a failover by seconds.
// BenchmarkLeaderFailover reports the
// time from a leader's SIGKILL to the first produce on its successor
// (go test -run '^$' -bench LeaderFailover -benchtime=1x). It holds tests only.
package e2e
