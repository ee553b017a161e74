package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Flags every client command shares.
const (
	defaultBootstrap = "localhost:9092"
	bootstrapEnv     = "TRIBUTARY_BOOTSTRAP"
)

// clientFlags are the connection and output flags of every client command.
type clientFlags struct {
	bootstrap string
	output    string
	timeout   time.Duration
	// security holds the SASL and TLS flags (security_flags.go).
	security *securityFlags
}

// addClientFlags registers --bootstrap, --output and --request-timeout on fs.
// The bootstrap default comes from TRIBUTARY_BOOTSTRAP when it is set.
func addClientFlags(fs *flag.FlagSet, c *cli) *clientFlags {
	f := &clientFlags{}
	def := defaultBootstrap
	if v, ok := c.env(bootstrapEnv); ok && strings.TrimSpace(v) != "" {
		def = v
	}
	fs.StringVar(&f.bootstrap, "bootstrap", def, "comma-separated broker `addresses` (env "+bootstrapEnv+")")
	fs.StringVar(&f.output, "output", outputTable, "output `format`: "+outputFormats)
	fs.DurationVar(&f.timeout, "request-timeout", 30*time.Second,
		"give up on the broker after this long (connecting, metadata, admin requests)")
	f.security = addSecurityFlags(fs, c)
	return f
}

// check reports a bad --output or --request-timeout as a usage error.
func (f *clientFlags) check() error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	if f.timeout <= 0 {
		return usageErrorf("--request-timeout %s: must be positive", f.timeout)
	}
	if len(f.seeds()) == 0 {
		return usageErrorf("--bootstrap: no broker address given")
	}
	return nil
}

// structured reports --output json or yaml: print data for scripts with
// write instead of a table or a sentence.
func (f *clientFlags) structured() bool { return f.output != outputTable }

// json is structured, kept for commands that print with writeJSON: their
// JSON is also valid YAML, so --output yaml still parses. Prefer write.
func (f *clientFlags) json() bool { return f.structured() }

// write prints v in the --output format (json or yaml).
func (f *clientFlags) write(w io.Writer, v any) error { return writeStructured(w, f.output, v) }

func (f *clientFlags) seeds() []string {
	var out []string
	for _, s := range strings.Split(f.bootstrap, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// newClient returns a franz-go client for the bootstrap brokers. Retries are
// bounded by --request-timeout so an unreachable broker gives an error, not a hang.
func (f *clientFlags) newClient(opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{
		kgo.SeedBrokers(f.seeds()...),
		kgo.ClientID("tributary-cli"),
		kgo.RetryTimeout(f.timeout),
		kgo.DialTimeout(min(f.timeout, 10*time.Second)),
	}
	sec, err := f.security.opts()
	if err != nil {
		return nil, err
	}
	base = append(base, sec...)
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("create client for %s: %w", f.bootstrap, err)
	}
	return cl, nil
}

// newAdmin returns an admin client; close it with Close.
func (f *clientFlags) newAdmin() (*kadm.Client, error) {
	cl, err := f.newClient()
	if err != nil {
		return nil, err
	}
	return kadm.NewClient(cl), nil
}

// admin opens an admin client and a context bounded by --request-timeout
// for the action's requests; done closes both.
func (f *clientFlags) admin(ctx context.Context) (*kadm.Client, context.Context, func(), error) {
	adm, err := f.newAdmin()
	if err != nil {
		return nil, nil, nil, err
	}
	rctx, cancel := f.requestContext(ctx)
	return adm, rctx, func() { cancel(); adm.Close() }, nil
}

// requestContext bounds one admin round by --request-timeout.
func (f *clientFlags) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.timeout)
}

// topicID prints a topic id as Kafka's tools do: unpadded URL-safe base64.
func topicID(id kadm.TopicID) string {
	if id == (kadm.TopicID{}) {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}
