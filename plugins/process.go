package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/tributary-io/tributary/plugins/pluginpb"
	"github.com/tributary-io/tributary/sdk"
)

// killGrace is how long a graceful stop may take before the process is
// killed. go-plugin itself waits 2s for a process that accepted the shutdown
// call; this bounds the case where the call itself hangs (a stopped process).
const killGrace = 3 * time.Second

// process is one running plugin binary. The goroutine that started it owns
// it and must call stop; the heartbeat goroutine it starts only ever kills
// the process (fail), never cleans up, so stop can wait for it.
type process struct {
	path    string
	log     *slog.Logger
	cfg     *Config
	cmd     *exec.Cmd
	client  *goplugin.Client
	plugin  pluginpb.PluginClient
	source  pluginpb.SourceClient
	sink    pluginpb.SinkClient
	hostEnd *os.File
	// exited is closed when the process has exited, for whatever reason.
	exited  <-chan struct{}
	started time.Time

	stopHB   chan struct{}
	hbDone   chan struct{}
	stopOnce sync.Once

	mu      sync.Mutex
	failure error // why the host killed the process, if it did
}

// startProcess starts the plugin binary at path and completes the handshake.
func startProcess(cfg *Config, path string) (*process, error) {
	log := cfg.Logger.With("binary", path)
	// The plugin reads the other end of this pipe and exits at end of file,
	// which the kernel delivers when this process dies, however it dies.
	readEnd, hostEnd, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start plugin %s: host pipe: %w", path, err)
	}
	cmd := exec.Command(path)
	cmd.ExtraFiles = []*os.File{readEnd} // fd 3 in the plugin
	cmd.Env = []string{
		pluginpb.EnvParentFD + "=3",
		pluginpb.EnvMaxMessageBytes + "=" + strconv.Itoa(cfg.MaxMessageBytes+grpcOverhead),
		sdk.EnvLogLevel + "=" + cfg.LogLevel.String(),
	}
	grpcLimit := cfg.MaxMessageBytes + grpcOverhead
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		Plugins:          goplugin.PluginSet{pluginpb.PluginName: hostPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           newHclogAdapter(log),
		StartTimeout:     cfg.StartTimeout,
		SyncStdout:       &lineWriter{log: func(line string) { log.Info(line, "stream", "stdout") }},
		SyncStderr:       &lineWriter{log: func(line string) { log.Warn(line, "stream", "stderr") }},
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(grpcLimit), grpc.MaxCallSendMsgSize(grpcLimit))},
	})
	rpc, err := client.Client()
	// The plugin has its copy of the read end now (or never will).
	_ = readEnd.Close()
	if err != nil {
		client.Kill()
		_ = hostEnd.Close()
		return nil, fmt.Errorf("start plugin %s: %w", path, err)
	}
	raw, err := rpc.Dispense(pluginpb.PluginName)
	if err != nil {
		client.Kill()
		_ = hostEnd.Close()
		return nil, fmt.Errorf("start plugin %s: %w", path, err)
	}
	d := raw.(*dispensed)
	p := &process{
		path:    path,
		log:     log,
		cfg:     cfg,
		cmd:     cmd,
		client:  client,
		plugin:  pluginpb.NewPluginClient(d.conn),
		source:  pluginpb.NewSourceClient(d.conn),
		sink:    pluginpb.NewSinkClient(d.conn),
		hostEnd: hostEnd,
		exited:  d.done,
		started: cfg.Clock.Now(),
		stopHB:  make(chan struct{}),
		hbDone:  make(chan struct{}),
	}
	go p.heartbeats()
	log.Debug("plugin started", "pid", p.pid())
	return p, nil
}

// pid is the plugin's process id.
func (p *process) pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// heartbeats pings the plugin until stop or until the process is gone, and
// kills a plugin that misses HeartbeatMisses pings in a row.
func (p *process) heartbeats() {
	defer close(p.hbDone)
	misses := 0
	for {
		select {
		case <-p.stopHB:
			return
		case <-p.exited:
			return
		case <-p.cfg.Clock.After(p.cfg.HeartbeatInterval):
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.HeartbeatTimeout)
		_, err := p.plugin.Heartbeat(ctx, &pluginpb.HeartbeatRequest{})
		cancel()
		if err == nil {
			misses = 0
			continue
		}
		select {
		case <-p.exited:
			return
		default:
		}
		misses++
		p.log.Warn("plugin missed a heartbeat", "misses", misses, "error", err)
		if misses >= p.cfg.HeartbeatMisses {
			p.fail(fmt.Errorf("missed %d heartbeats in a row: %w", misses, err))
			return
		}
	}
}

// fail kills the process for reason; stop still has to clean up.
func (p *process) fail(reason error) {
	p.mu.Lock()
	if p.failure == nil {
		p.failure = reason
	}
	p.mu.Unlock()
	p.log.Error("killing plugin", "pid", p.pid(), "reason", reason)
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
}

// alive reports whether the process still runs and was not failed.
func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failure == nil
}

// why explains a failed call: the host's reason for killing the process, or
// its exit, or the call's own error.
func (p *process) why(callErr error) error {
	p.mu.Lock()
	failure := p.failure
	p.mu.Unlock()
	switch {
	case failure != nil:
		return fmt.Errorf("%w (%v)", failure, callErr)
	case !p.alive():
		return fmt.Errorf("plugin process exited: %w", callErr)
	}
	return callErr
}

// stop shuts the process down: gracefully if it answers, by SIGKILL after
// killGrace otherwise. It waits for the heartbeat goroutine and for
// go-plugin's goroutines, and is safe to call more than once.
func (p *process) stop() {
	p.stopOnce.Do(func() {
		close(p.stopHB)
		<-p.hbDone
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.client.Kill()
		}()
		timer := time.NewTimer(killGrace)
		defer timer.Stop()
		select {
		case <-done:
		case <-timer.C:
			p.log.Warn("plugin did not stop in time; killing it", "pid", p.pid())
			if p.cmd.Process != nil {
				_ = p.cmd.Process.Kill()
			}
			<-done
		}
		// Only now: the plugin exits by itself when this pipe closes.
		_ = p.hostEnd.Close()
	})
}

// callCtx bounds a call that does not wait for data.
func (p *process) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.cfg.CallTimeout)
}

// manifest asks the plugin for its manifest and checks it.
func (p *process) manifest(ctx context.Context) (Manifest, error) {
	ctx, cancel := p.callCtx(ctx)
	defer cancel()
	resp, err := p.plugin.Manifest(ctx, &pluginpb.ManifestRequest{})
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", p.why(err))
	}
	return manifestFromProto(resp, p.path)
}

// hostPlugin is the host's half of go-plugin's plugin definition: it hands
// back the gRPC connection and the context go-plugin cancels when the
// process exits.
type hostPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

type dispensed struct {
	conn *grpc.ClientConn
	done <-chan struct{}
}

func (hostPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the host serves no plugin")
}

func (hostPlugin) GRPCClient(ctx context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &dispensed{conn: conn, done: ctx.Done()}, nil
}
