package main

import (
	"context"
	"errors"
	"net"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
)

// errorHints say what to do about errors a command cannot fix itself. The
// first whose match holds is printed under the error.
var errorHints = []struct {
	match func(error) bool
	hint  string
}{
	{func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) || isDialError(err) },
		"nothing accepts connections at that address: start a broker with 'tributary serve', " +
			"or point --bootstrap (or TRIBUTARY_BOOTSTRAP) at a running one"},
	{func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
		"no answer within --request-timeout: check that the address is a running broker, or raise --request-timeout"},
	{func(err error) bool { return errors.Is(err, kerr.UnknownTopicOrPartition) },
		"'tributary topic list' shows the topics; 'tributary topic create NAME' creates one"},
	{func(err error) bool { return errors.Is(err, kerr.TopicAlreadyExists) },
		"'tributary topic describe NAME' shows it; 'tributary topic alter NAME' changes its configs or partitions"},
	{func(err error) bool { return errors.Is(err, kerr.InvalidReplicationFactor) },
		"the replication factor can be at most the number of brokers"},
	{func(err error) bool { return errors.Is(err, kerr.InvalidPartitions) },
		"partitions can only be added: give a count above the current one ('tributary topic describe NAME')"},
	{func(err error) bool { return errors.Is(err, kerr.GroupIDNotFound) },
		"'tributary group list' shows the groups"},
	{func(err error) bool { return errors.Is(err, kerr.NonEmptyGroup) },
		"the group still has members: stop its consumers first ('tributary group describe GROUP' lists them)"},
	{func(err error) bool {
		return errors.Is(err, kerr.CoordinatorLoadInProgress) || errors.Is(err, kerr.CoordinatorNotAvailable)
	}, "the broker is still loading its groups: try again in a few seconds"},
}

// isDialError reports a failure to open a TCP connection (refused, no route,
// unknown host).
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// hint returns what to do about err, or "" when there is nothing to add.
func hint(err error) string {
	for _, h := range errorHints {
		if h.match(err) {
			return h.hint
		}
	}
	return ""
}
