package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/pipelines/deploy"
	"github.com/tributary-io/tributary/plugins"
)

// startWorker discovers the plugins and starts the node's worker against
// its own broker. A plugin that fails discovery is logged; the others run.
func (n *Node) startWorker(ctx context.Context) error {
	ws := n.cfg.Worker.withDefaults(n.cfg.NodeID)
	if ws.Disabled {
		return nil
	}
	if errs := ws.problems(); len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Records crossing the plugin boundary must fit the topics' batches:
	// the gRPC limit follows the node's default max.message.bytes.
	maxMsg := int64(0)
	if defaults, err := log.ApplyOverrides(log.DefaultConfig(), n.cfg.TopicDefaults); err == nil {
		maxMsg = min(max(defaults.MaxMessageBytes, 1<<10), 1<<30)
	}
	reg, err := plugins.NewRegistry(plugins.Config{Dir: ws.PluginDir, Logger: n.logger.With("component", "plugins"),
		MaxMessageBytes: int(maxMsg),
		OnFailure:       func(plugin string) { n.workerMetrics.PluginRestarts.WithLabelValues(plugin).Inc() }})
	if err != nil {
		return err
	}
	if err := reg.Discover(ctx); err != nil {
		n.logger.Warn("plugin discovery", "dir", ws.PluginDir, "error", err)
	}
	seeds, clientOpts, err := n.localClient()
	if err != nil {
		return err
	}
	url := ""
	if n.httpAddr != nil {
		url = "http://" + dialable(n.httpAddr)
	}
	w, err := deploy.New(deploy.Config{
		Seeds: seeds, ClientOpts: clientOpts, ID: ws.ID, URL: url, Host: connect.RegistryHost{Registry: reg},
		Logger: n.logger.With("component", "worker"), Metrics: n.workerMetrics, Registerer: n.registry, SessionTimeout: ws.SessionTimeout,
		ClusterSize: max(len(n.cfg.Cluster.Peers), 1),
	})
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	n.plugins, n.worker = reg, w
	return nil
}

// dialable turns a bound address into one a local client can dial: an
// unspecified host (":9092", "0.0.0.0:9092") becomes 127.0.0.1.
func dialable(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	if _, err := strconv.Atoi(port); err != nil {
		return a.String()
	}
	return net.JoinHostPort(host, port)
}

// localBroker is the optional capability of the node's broker to say how
// its own clients reach it (broker.Broker.LocalClient).
type localBroker interface {
	LocalClient() (net.Addr, []kgo.Opt, error)
}

// localClient returns the seeds and client options with which the node's
// worker and console reach its broker: the broker's inter-broker listener
// with its TLS and SASL settings, so they authenticate like any client;
// every listener, without options, for a broker that cannot say.
func (n *Node) localClient() ([]string, []kgo.Opt, error) {
	if lb, ok := n.broker.(localBroker); ok {
		addr, opts, err := lb.LocalClient()
		if err != nil {
			return nil, nil, err
		}
		return []string{dialable(addr)}, opts, nil
	}
	var seeds []string
	for _, a := range n.broker.Addrs() {
		seeds = append(seeds, dialable(a))
	}
	return seeds, nil, nil
}
