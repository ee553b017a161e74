package sdk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/tributary-io/tributary/plugins/pluginpb"
)

// DefaultMaxMessageBytes is the gRPC message limit a plugin uses when the
// host does not set one: Kafka's default max.message.bytes (1 MiB) with
// room for a full batch of small records.
const DefaultMaxMessageBytes = 16 << 20

// EnvLogLevel selects the plugin's log level (debug, info, warn, error).
// The host sets it to its own level.
const EnvLogLevel = "TRIBUTARY_PLUGIN_LOG_LEVEL"

// Handshake is the go-plugin handshake both sides must agree on.
func Handshake() goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion:  pluginpb.ProtocolVersion,
		MagicCookieKey:   pluginpb.MagicCookieKey,
		MagicCookieValue: pluginpb.MagicCookieValue,
	}
}

// Serve runs p as a plugin for the Tributary host: it answers the
// handshake, serves the protocol over gRPC until the host stops it, and
// returns so main can exit. A plugin's main is usually one line:
//
//	func main() { sdk.Serve(myplugin.Plugin()) }
//
// Serve exits the process with status 1 when p is not sound (see
// Plugin.Check) or when the binary was not started by the host, and with
// status 3 when the host dies, so a plugin never outlives its host.
func Serve(p Plugin) {
	log := NewLogger(os.Stderr, levelFromEnv(os.Getenv(EnvLogLevel))).With("plugin", p.Name)
	if err := p.Check(); err != nil {
		fmt.Fprintf(os.Stderr, "plugin %q is not sound: %v\n", p.Name, err)
		os.Exit(1)
	}
	if os.Getenv(pluginpb.MagicCookieKey) != pluginpb.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "%s %s is a Tributary connector plugin: put it in the plugin directory (default ./bin/plugins) and the server starts it.\n", p.Name, p.Version)
		os.Exit(1)
	}
	if err := watchHost(log); err != nil {
		fmt.Fprintf(os.Stderr, "plugin %s: %v\n", p.Name, err)
		os.Exit(1)
	}
	maxMsg := maxMessageBytes(os.Getenv(pluginpb.EnvMaxMessageBytes))
	srv := newServer(&p, log)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake(),
		Plugins:         goplugin.PluginSet{pluginpb.PluginName: &grpcPlugin{srv: srv}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
			return grpc.NewServer(opts...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       p.Name,
			Output:     os.Stderr,
			JSONFormat: true,
			Level:      hclog.Info,
		}),
	})
	srv.closeAll()
}

// grpcPlugin registers the server with go-plugin. It is the plugin's half
// only; the host has its own.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	srv *server
}

func (g *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	g.srv.register(s)
	return nil
}

func (g *grpcPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("the plugin side has no client")
}

func maxMessageBytes(env string) int {
	n, err := strconv.Atoi(strings.TrimSpace(env))
	if err != nil || n <= 0 {
		return DefaultMaxMessageBytes
	}
	return n
}

func levelFromEnv(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// NewLogger returns a logger writing JSON lines that the host's go-plugin
// client understands (hclog's @level/@message/@timestamp keys), so a
// plugin's log records arrive in the host's log with their level and
// attributes. Serve hands plugins a logger made by it through Env.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", hclogLevel(a.Value.Any()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}

// hclogLevel names an slog level the way hclog parses it.
func hclogLevel(v any) string {
	l, _ := v.(slog.Level)
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}
