package broker

import (
	"fmt"
	"net"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
)

// LocalClient says how the node's own Kafka clients (its connector and
// pipeline worker, the web console) reach this broker: through the
// inter-broker listener (the first one by default), with the TLS and SASL
// settings the broker itself uses there. So they authenticate like any
// other client, as the broker's own principal (security.inter_broker_user,
// which the authorizer must let manage the workers' topics and groups: a
// super user). Call it after Start: addr is the listener's bound address.
func (b *Broker) LocalClient() (addr net.Addr, opts []kgo.Opt, err error) {
	sec, listeners := b.cfg.Security, b.cfg.Listeners
	spec, err := sec.interBrokerListener(listeners)
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(listeners, func(l string) bool {
		s, err := sec.parseListener(l)
		return err == nil && s.name == spec.name
	})
	addrs := b.Addrs()
	if i < 0 || i >= len(addrs) {
		return nil, nil, fmt.Errorf("local client: listener %s is not bound (is the broker started?)", spec.name)
	}
	if spec.protocol.TLS() {
		cfg, err := sec.interBrokerTLS(b.cfg.Now)
		if err != nil {
			return nil, nil, fmt.Errorf("local client on listener %s: %w", spec.name, err)
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if spec.protocol.SASL() {
		if sec.InterBroker.Username == "" || sec.InterBroker.Password == "" {
			return nil, nil, fmt.Errorf("the node's worker and console reach the broker on listener %s, which is %s: "+
				"set security.inter_broker_user and inter_broker_password (a super user), or add a listener they can use as the inter-broker one",
				spec.name, spec.protocol)
		}
		opts = append(opts, kgo.SASL(sec.interBrokerSASL()))
	}
	return addrs[i], opts, nil
}
