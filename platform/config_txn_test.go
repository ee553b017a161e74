package platform

import (
	"strings"
	"testing"
	"time"
)

func TestTransactionsConfig(t *testing.T) {
	file := writeFile(t, `
transactions:
  max_timeout: 5m
  transactional_id_expiration: 48h
  producer_id_expiration: 12h
`)
	tests := []struct {
		name string
		src  Sources
		want TransactionsSection
	}{
		{"defaults stay zero", Sources{}, TransactionsSection{}},
		{"yaml", Sources{File: file}, TransactionsSection{MaxTimeout: 5 * time.Minute,
			TransactionalIDExpiration: 48 * time.Hour, ProducerIDExpiration: 12 * time.Hour}},
		{"env over yaml", Sources{File: file, Env: envMap(map[string]string{
			"TRIBUTARY_TRANSACTIONS_PRODUCER_ID_EXPIRATION": "90m",
		})}, TransactionsSection{MaxTimeout: 5 * time.Minute, TransactionalIDExpiration: 48 * time.Hour,
			ProducerIDExpiration: 90 * time.Minute}},
		{"flags over env", Sources{
			Env: envMap(map[string]string{"TRIBUTARY_TRANSACTIONS_MAX_TIMEOUT": "1m"}),
			Flags: parsedFlags(t, "--transactions-max-timeout=2m",
				"--transactions-transactional-id-expiration=72h"),
		}, TransactionsSection{MaxTimeout: 2 * time.Minute, TransactionalIDExpiration: 72 * time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if c.Transactions != tc.want {
				t.Fatalf("transactions = %+v, want %+v", c.Transactions, tc.want)
			}
			bc, err := c.BrokerConfig(nil)
			if err != nil {
				t.Fatal(err)
			}
			// The broker fills what is left at zero with Kafka's defaults.
			want := tc.want
			if want.MaxTimeout == 0 {
				want.MaxTimeout = 15 * time.Minute
			}
			if want.TransactionalIDExpiration == 0 {
				want.TransactionalIDExpiration = 7 * 24 * time.Hour
			}
			if want.ProducerIDExpiration == 0 {
				want.ProducerIDExpiration = 24 * time.Hour
			}
			tx := bc.Txn
			tx.EnsureDefaults()
			if tx.MaxTimeout != want.MaxTimeout || tx.TransactionalIDExpiration != want.TransactionalIDExpiration ||
				tx.State.ProducerIDExpiration != want.ProducerIDExpiration {
				t.Fatalf("broker txn config: max timeout %v, id expiration %v, producer expiration %v; want %+v",
					tx.MaxTimeout, tx.TransactionalIDExpiration, tx.State.ProducerIDExpiration, want)
			}
		})
	}
}

func TestTransactionsConfigRefusesNegative(t *testing.T) {
	_, err := Load(Sources{Env: envMap(map[string]string{
		"TRIBUTARY_TRANSACTIONS_MAX_TIMEOUT":            "-1s",
		"TRIBUTARY_TRANSACTIONS_PRODUCER_ID_EXPIRATION": "-1h",
	})})
	if err == nil {
		t.Fatal("negative durations accepted")
	}
	for _, key := range []string{"transactions.max_timeout", "transactions.producer_id_expiration"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}
