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

// brokerProc is a `tributary serve` child process on loopback ports.
type brokerProc struct {
	bin     string
	dataDir string
	kafka   string // host:port of the Kafka listener
	http    string
	pprof   string // host:port of the pprof listener, or ""
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	log     *os.File
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

// startBroker runs bin serve on dataDir and waits until /readyz answers 200.
// Its output goes to logPath. withPprof adds the hidden --pprof-addr flag.
func startBroker(ctx context.Context, bin, dataDir, logPath string, withPprof bool) (*brokerProc, time.Duration, error) {
	ports := make([]int, 3)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, 0, err
		}
		ports[i] = p
	}
	b := &brokerProc{
		bin: bin, dataDir: dataDir,
		kafka: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		http:  fmt.Sprintf("127.0.0.1:%d", ports[1]),
		done:  make(chan struct{}),
	}
	args := []string{"serve", "--data-dir", dataDir, "--listeners", b.kafka, "--http-addr", b.http, "--log-level", "warn"}
	if withPprof {
		b.pprof = fmt.Sprintf("127.0.0.1:%d", ports[2])
		args = append(args, "--pprof-addr", b.pprof)
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("broker log: %w", err)
	}
	b.log = lf
	b.cmd = exec.Command(bin, args...)
	b.cmd.Stdout, b.cmd.Stderr = lf, lf
	start := time.Now()
	if err := b.cmd.Start(); err != nil {
		lf.Close()
		return nil, 0, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		_ = b.cmd.Wait()
		close(b.done)
	}()
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
func (b *brokerProc) rssBytes() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read broker rss: %w", err)
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

// cpuSeconds returns the user+system CPU time the broker has used (Linux
// /proc only; clock ticks are taken as the usual 100 per second).
func (b *brokerProc) cpuSeconds() (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", b.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read broker cpu time: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	_, rest, ok := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("read broker cpu time: unexpected /proc stat %q", data)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("read broker cpu time: %w", err)
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

// stop asks the broker to shut down (SIGTERM) and waits; it kills it if it
// has not exited within a minute.
func (b *brokerProc) stop() error {
	defer b.log.Close()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
		return nil
	case <-time.After(time.Minute):
		b.kill()
		return errors.New("broker did not stop within a minute of SIGTERM; killed")
	}
}

// kill ends the broker at once, as a crash would, and waits for it.
func (b *brokerProc) kill() {
	_ = b.cmd.Process.Kill()
	<-b.done
}

// fetchProfile saves the pprof profile at path (for example
// "profile?seconds=8") of the broker into file.
func (b *brokerProc) fetchProfile(ctx context.Context, path, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.pprof+"/debug/pprof/"+path, nil)
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
