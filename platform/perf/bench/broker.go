package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a child process of the harness (a broker or a pipeline runner)
// with its output appended to a log file.
type proc struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // how it exited (nil: status 0); set before done is closed
	log     *os.File
}

// launch starts bin with args, its output appended to logPath. It does not
// wait for the process to be ready.
func launch(bin string, args []string, logPath string) (*proc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("child log: %w", err)
	}
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{}), log: lf}
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	if err := p.cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s %s: %w", bin, args[0], err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// brokerProc is a `tributary serve` child process on loopback ports.
type brokerProc struct {
	*proc
	dataDir string
	kafka   string // host:port of the Kafka listener
	http    string
	pprof   string // host:port of the pprof listener, or ""
}

// freePort asks the OS for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// freeAddrs returns n free loopback host:port addresses.
func freeAddrs(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		out[i] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	return out, nil
}

// launchBroker runs bin serve on dataDir with its Kafka listener at kafka and
// its HTTP server at httpAddr, without waiting for it to be ready. extra are more
// serve flags (cluster membership); withPprof adds the hidden --pprof-addr
// flag on a free port.
func launchBroker(bin, dataDir, kafka, httpAddr, logPath string, withPprof bool, extra ...string) (*brokerProc, error) {
	b := &brokerProc{dataDir: dataDir, kafka: kafka, http: httpAddr}
	args := []string{"serve", "--data-dir", dataDir, "--listeners", b.kafka, "--http-addr", b.http, "--log-level", "warn"}
	if withPprof {
		a, err := freeAddrs(1)
		if err != nil {
			return nil, err
		}
		b.pprof = a[0]
		args = append(args, "--pprof-addr", b.pprof)
	}
	p, err := launch(bin, append(args, extra...), logPath)
	if err != nil {
		return nil, err
	}
	b.proc = p
	return b, nil
}

// startBroker runs a single-node bin serve on dataDir and waits until /readyz
// answers 200; it returns how long that took. Its output goes to logPath.
func startBroker(ctx context.Context, bin, dataDir, logPath string, withPprof bool) (*brokerProc, time.Duration, error) {
	addrs, err := freeAddrs(2)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	b, err := launchBroker(bin, dataDir, addrs[0], addrs[1], logPath, withPprof)
	if err != nil {
		return nil, 0, err
	}
	if err := b.waitReady(ctx, 2*time.Minute); err != nil {
		b.kill()
		return nil, 0, err
	}
	return b, time.Since(start), nil
}

// waitReady polls /readyz until it answers 200, the process exits or the
// deadline passes.
func (b *brokerProc) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-b.done:
			return fmt.Errorf("broker exited during start-up (see its log)")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get("http://" + b.http + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("broker not ready after %s", limit)
}

// rssBytes returns the process's resident set size (Linux /proc only).
func (b *proc) rssBytes() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// cpuSeconds returns the user+system CPU time the process has used (Linux
// /proc only; clock ticks are taken as the usual 100 per second).
func (b *proc) cpuSeconds() (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", b.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	_, rest, ok := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("read cpu time: unexpected /proc stat %q", data)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	return float64(utime+stime) / 100, nil
}

// loadAverage returns the machine's one-minute load average, or -1.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// stop asks the process to shut down (SIGTERM) and waits; it kills it if it
// has not exited within a minute. An exit status other than 0 is an error.
func (b *proc) stop() error {
	defer b.log.Close()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
		if b.waitErr != nil {
			return fmt.Errorf("%s after SIGTERM: %w", b.cmd.Args[1], b.waitErr)
		}
		return nil
	case <-time.After(time.Minute):
		b.kill()
		return fmt.Errorf("%s did not stop within a minute of SIGTERM; killed", b.cmd.Args[1])
	}
}

// kill ends the process at once, as a crash would, and waits for it.
func (b *proc) kill() {
	_ = b.cmd.Process.Kill()
	<-b.done
	_ = b.log.Close()
}

// seeds returns the broker's Kafka address.
func (b *brokerProc) seeds() []string { return []string{b.kafka} }

// pprofAddr returns the broker's pprof listener, or "".
func (b *brokerProc) pprofAddr() string { return b.pprof }

// fetchProfile saves the pprof profile at path (for example
// "profile?seconds=8") of the pprof listener at addr into file.
func fetchProfile(ctx context.Context, addr, path, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/"+path, nil)
	if err != nil {
		return fmt.Errorf("profile %s: %w", path, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: status %s", path, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("profile %s: %w", path, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("profile %s: save %s: %w", path, file, err)
	}
	return f.Close()
}
