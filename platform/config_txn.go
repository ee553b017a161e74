package platform

import (
	"fmt"
	"time"

	"github.com/tributary-io/tributary/broker/txn"
)

// TransactionsSection is the `transactions:` section: the settings of the
// transaction coordinator and of the partitions' producer state that operators
// tune, by their Kafka names in each field's doc. Zero keeps the default.
type TransactionsSection struct {
	// MaxTimeout is transaction.max.timeout.ms: the largest
	// transaction.timeout.ms a producer may ask for. Default 15m.
	MaxTimeout time.Duration `yaml:"max_timeout"`
	// TransactionalIDExpiration is transactional.id.expiration.ms: a
	// transactional id with no open transaction, unused this long, is removed.
	// Default 168h (7 days).
	TransactionalIDExpiration time.Duration `yaml:"transactional_id_expiration"`
	// ProducerIDExpiration is producer.id.expiration.ms: a partition forgets a
	// producer (its sequence numbers, so duplicate detection) that has not
	// written for this long and has no open transaction. Default 24h.
	ProducerIDExpiration time.Duration `yaml:"producer_id_expiration"`
}

func (s TransactionsSection) problems() []error {
	var errs []error
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"max_timeout", s.MaxTimeout},
		{"transactional_id_expiration", s.TransactionalIDExpiration},
		{"producer_id_expiration", s.ProducerIDExpiration},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("transactions.%s=%s: must not be negative (0 keeps the default)", d.key, d.v))
		}
	}
	return errs
}

// brokerConfig maps s onto the transaction coordinator's config; zero fields
// and the coordinator's other settings keep their defaults.
func (s TransactionsSection) brokerConfig() txn.Config {
	return txn.Config{
		MaxTimeout:                s.MaxTimeout,
		TransactionalIDExpiration: s.TransactionalIDExpiration,
		State:                     txn.StateConfig{ProducerIDExpiration: s.ProducerIDExpiration},
	}
}

// transactionsSettings are the transactions.* flags and environment variables.
func transactionsSettings() []setting {
	return []setting{
		{key: "transactions.max_timeout", usage: "largest transaction timeout a producer may ask for (default 15m)",
			set: durationSetting("transactions.max_timeout", func(c *Config, d time.Duration) { c.Transactions.MaxTimeout = d })},
		{key: "transactions.transactional_id_expiration", usage: "remove a transactional id unused this long with no open transaction (default 168h)",
			set: durationSetting("transactions.transactional_id_expiration", func(c *Config, d time.Duration) { c.Transactions.TransactionalIDExpiration = d })},
		{key: "transactions.producer_id_expiration", usage: "a partition forgets a producer idle this long with no open transaction (default 24h)",
			set: durationSetting("transactions.producer_id_expiration", func(c *Config, d time.Duration) { c.Transactions.ProducerIDExpiration = d })},
	}
}
