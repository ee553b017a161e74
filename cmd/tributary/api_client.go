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
	auth *httpAuth // nil: no credentials
}

// Environment variables of the HTTP credentials. Without them the SASL
// user and password (TRIBUTARY_SASL_USERNAME, TRIBUTARY_SASL_PASSWORD) are
// used: a node's HTTP API takes the same principals as its Kafka listeners.
const (
	httpTokenEnv    = "TRIBUTARY_HTTP_TOKEN"
	httpUserEnv     = "TRIBUTARY_HTTP_USER"
	httpPasswordEnv = "TRIBUTARY_HTTP_PASSWORD"
)

// httpAuth are the credentials sent to a node's HTTP API when its
// security.http_auth is on: a bearer token, or a user and password (basic
// authentication, checked against the cluster's SCRAM credentials).
type httpAuth struct {
	token, user, password string
}

// addHTTPAuthFlags registers --http-token, --http-user and --http-password.
func addHTTPAuthFlags(fs *flag.FlagSet, c *cli) *httpAuth {
	env := func(names ...string) string {
		for _, n := range names {
			if v, ok := c.env(n); ok && v != "" {
				return v
			}
		}
		return ""
	}
	a := &httpAuth{}
	fs.StringVar(&a.token, "http-token", env(httpTokenEnv), "bearer `token` for the node's HTTP API (env "+httpTokenEnv+")")
	fs.StringVar(&a.user, "http-user", env(httpUserEnv, saslUsernameEnv),
		"user `name` for the node's HTTP API, basic authentication (env "+httpUserEnv+", else "+saslUsernameEnv+")")
	fs.StringVar(&a.password, "http-password", env(httpPasswordEnv, saslPasswordEnv),
		"`password` for the node's HTTP API (env "+httpPasswordEnv+", else "+saslPasswordEnv+")")
	return a
}

// set adds the credentials to req: the token if there is one, else the
// user and password.
func (a *httpAuth) set(req *http.Request) {
	switch {
	case a == nil:
	case a.token != "":
		req.Header.Set("Authorization", "Bearer "+a.token)
	case a.user != "":
		req.SetBasicAuth(a.user, a.password)
	}
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

func newAPIClient(server string, timeout time.Duration, auth *httpAuth) *apiClient {
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	return &apiClient{base: strings.TrimRight(server, "/"), http: &http.Client{Timeout: timeout}, auth: auth}
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
	a.auth.set(req)
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
