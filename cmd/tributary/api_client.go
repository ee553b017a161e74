package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// Flags of commands that use a node's REST API.
const (
	defaultServer = "http://localhost:8080"
	serverEnv     = "TRIBUTARY_SERVER"
)

// apiClient calls a node's REST API (platform/api*.go).
type apiClient struct {
	base string
	http *http.Client
}

// addServerFlag registers --server on fs; the default comes from
// TRIBUTARY_SERVER when it is set.
func addServerFlag(fs *flag.FlagSet, c *cli) *string {
	def := defaultServer
	if v, ok := c.env(serverEnv); ok && strings.TrimSpace(v) != "" {
		def = v
	}
	return fs.String("server", def, "a node's HTTP `URL` (REST API; env "+serverEnv+")")
}

func newAPIClient(server string, timeout time.Duration) *apiClient {
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	return &apiClient{base: strings.TrimRight(server, "/"), http: &http.Client{Timeout: timeout}}
}

// apiError is an error answer of the API.
type apiError struct {
	Status   int           `json:"-"`
	Code     int           `json:"error_code"`
	Message  string        `json:"message"`
	Problems []sdk.Problem `json:"problems"`
	Lines    []string      `json:"manifest_problems"`
}

func (e *apiError) Error() string { return e.Message }

// isNotFound reports a 404 answer.
func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// do sends body (JSON, unless nil) and decodes a JSON answer into out
// (unless nil). It returns the status code.
func (a *apiClient) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w (is a node serving HTTP there? see --server)", method, a.base+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		ae := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, ae) != nil || ae.Message == "" {
			ae.Message = fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
		}
		return resp.StatusCode, ae
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}
