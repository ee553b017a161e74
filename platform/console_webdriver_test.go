package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webDriver is a chromedriver process and one headless Chromium session,
// driven through the W3C WebDriver HTTP API.
type webDriver struct {
	t       *testing.T
	base    string // http://127.0.0.1:port/session/id
	cmd     *exec.Cmd
	session string
}

// w3cElement is the key the W3C protocol names element references by.
const w3cElement = "element-6066-11e4-a52e-4f735466cecf"

func startWebDriver(t *testing.T) *webDriver {
	t.Helper()
	bin, err := exec.LookPath("chromedriver")
	if err != nil {
		t.Fatal("chromedriver is not installed: run `make deps` (installs the Debian packages chromium and chromium-driver)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromedriver: %v", err)
	}
	wd := &webDriver{t: t, cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	t.Cleanup(wd.stop)
	waitFor(t, "chromedriver ready", func() bool {
		resp, err := http.Get(wd.base + "/status")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	var created struct {
		Value struct {
			SessionID string `json:"sessionId"`
		} `json:"value"`
	}
	wd.call("POST", "/session", map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"goog:chromeOptions": map[string]any{"args": []string{"--headless", "--no-sandbox", "--disable-gpu",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
			"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}},
	}}}, &created)
	if created.Value.SessionID == "" {
		t.Fatal("chromedriver created no session")
	}
	wd.session = created.Value.SessionID
	return wd
}

// stop ends the session and the chromedriver process, and waits for it.
func (wd *webDriver) stop() {
	if wd.session != "" {
		req, _ := http.NewRequest("DELETE", wd.base+"/session/"+wd.session, nil)
		if resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req); err == nil {
			resp.Body.Close()
		}
		wd.session = ""
	}
	_ = wd.cmd.Process.Kill()
	_ = wd.cmd.Wait()
}

// call sends one WebDriver command and decodes the answer into out.
func (wd *webDriver) call(method, path string, body, out any) {
	wd.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			wd.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	url := wd.base + path
	if wd.session != "" {
		url = wd.base + "/session/" + wd.session + path
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		wd.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		wd.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		wd.t.Fatalf("webdriver %s %s: %s\n%s", method, path, resp.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			wd.t.Fatalf("webdriver %s %s: %v\n%s", method, path, err, data)
		}
	}
}

func (wd *webDriver) open(url string) { wd.call("POST", "/url", map[string]string{"url": url}, nil) }

// find returns the element matching the CSS selector, or "" when none does.
func (wd *webDriver) find(css string) string {
	var found struct {
		Value []map[string]string `json:"value"`
	}
	wd.call("POST", "/elements", map[string]string{"using": "css selector", "value": css}, &found)
	if len(found.Value) == 0 {
		return ""
	}
	return found.Value[0][w3cElement]
}

func (wd *webDriver) click(elem string) {
	wd.call("POST", "/element/"+elem+"/click", map[string]any{}, nil)
}

// text is the rendered text of the page's body.
func (wd *webDriver) text() string {
	var out struct {
		Value string `json:"value"`
	}
	wd.call("POST", "/execute/sync", map[string]any{"script": "return document.body.innerText", "args": []any{}}, &out)
	return out.Value
}

// testPauseResumeButtons clicks the connector's and the pipeline's Pause
// buttons in Chromium; the page's JavaScript calls the REST API, the unit
// pauses, the reloaded page shows a Resume button, and Resume brings it
// back to running.
func testPauseResumeButtons(t *testing.T, f *consoleFixture) {
	wd := startWebDriver(t)
	units := []struct{ kind, name, status string }{
		{"connectors", fixConnector, "/connectors/" + fixConnector + "/status"},
		{"pipelines", fixPipeline, "/pipelines/" + fixPipeline + "/status"},
	}
	state := func(path string) string {
		var st struct {
			State     string `json:"state"`
			Connector struct {
				State string `json:"state"`
			} `json:"connector"`
		}
		getJSON(t, f.base+path, &st)
		return strings.ToLower(st.State + st.Connector.State)
	}
	for _, u := range units {
		for _, step := range []struct{ action, want string }{{"pause", "paused"}, {"resume", "running"}} {
			css := fmt.Sprintf(`button[data-kind=%q][data-name=%q][data-action=%q]`, u.kind, u.name, step.action)
			wd.open(f.base + "/console/workers")
			btn := wd.find(css)
			if btn == "" {
				var src struct{ Value string }
				wd.call("GET", "/source", nil, &src)
				t.Fatalf("%s %s: no %s button on the page:\n%s\n%s", u.kind, u.name, step.action, wd.text(), src.Value)
			}
			wd.click(btn)
			waitFor(t, u.name+" "+step.want, func() bool { return state(u.status) == step.want })
			// The page reloads itself after the call; then it offers the opposite action.
			other := map[string]string{"pause": "resume", "resume": "pause"}[step.action]
			next := fmt.Sprintf(`button[data-kind=%q][data-name=%q][data-action=%q]`, u.kind, u.name, other)
			waitFor(t, u.name+" page offers "+other, func() bool {
				if wd.find(next) != "" {
					return true
				}
				wd.open(f.base + "/console/workers")
				return false
			})
		}
	}
}
