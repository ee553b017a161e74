package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/tributary-io/tributary/platform"
)

// httpAddrEnv is the node's http_addr setting; the CLI reads it too, so on a
// node configured through the environment `log-level` finds its port.
const httpAddrEnv = platform.EnvPrefix + "HTTP_ADDR"

// logLevelResult is what `log-level get|set` prints.
type logLevelResult struct {
	Node  string `json:"node"`
	Level string `json:"level"`
}

// runLogLevel shows or changes a running node's log level through its HTTP
// endpoint; the change lasts until the next change or restart.
func runLogLevel(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "log-level", "log-level get | set debug|info|warn|error [--http HOST:PORT] [--output table|json|yaml]")
	def := "localhost:8080"
	if v, ok := c.env(httpAddrEnv); ok && strings.TrimSpace(v) != "" {
		def = v
	}
	addr := fs.String("http", def, "the node's HTTP `address` (its http_addr; env "+httpAddrEnv+")")
	output := fs.String("output", outputTable, "output `format`: "+outputFormats)
	timeout := fs.Duration("request-timeout", 10*time.Second, "give up on the node after this long")
	auth := addHTTPAuthFlags(fs, c)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	var method, body string
	switch {
	case len(rest) == 1 && rest[0] == "get":
		method = http.MethodGet
	case len(rest) == 2 && rest[0] == "set":
		method, body = http.MethodPut, strings.ToLower(rest[1])
		switch body {
		case "debug", "info", "warn", "error":
		default:
			return usageErrorf("level %q: want debug, info, warn or error", rest[1])
		}
	case len(rest) == 0:
		return usageErrorf("say get, or set and a level (debug, info, warn or error)")
	case rest[0] == "set":
		return usageErrorf("set takes one level: debug, info, warn or error")
	default:
		return usageErrorf("unknown action %q: want get or set", strings.Join(rest, " "))
	}
	node := nodeHTTPAddr(*addr)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	level, err := callLogLevel(ctx, method, node, body, auth)
	if err != nil {
		return err
	}
	res := logLevelResult{Node: node, Level: level}
	if *output != outputTable {
		return writeStructured(c.stdout, *output, res)
	}
	if method == http.MethodPut {
		_, err = fmt.Fprintf(c.stdout, "log level of %s set to %s\n", node, level)
	} else {
		_, err = fmt.Fprintf(c.stdout, "log level of %s is %s\n", node, level)
	}
	return err
}

// nodeHTTPAddr turns a listen address such as ":8080" or "0.0.0.0:8080"
// into one to connect to.
func nodeHTTPAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr // the request reports it
	}
	if host == "" || net.ParseIP(host).IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// callLogLevel sends one request to the node's log level endpoint and
// returns the level it answers.
func callLogLevel(ctx context.Context, method, node, body string, auth *httpAuth) (string, error) {
	url := "http://" + node + platform.PathLogLevel
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("--http %q: %w", node, err)
	}
	auth.set(req)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			// Not wrapped: the bootstrap hint for Kafka commands does not apply.
			return "", fmt.Errorf("no node answers HTTP at %s (%v): is the node running? Pass its http_addr with --http HOST:PORT", node, err)
		}
		return "", fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	answer := strings.TrimSpace(string(text))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "", fmt.Errorf("%s %s: 404: %s is not a Tributary node's HTTP port (or the node predates run-time log levels)", method, url, node)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, answer)
	}
	return answer, nil
}
