package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/tributary-io/tributary/broker/auth/authtest"
	"github.com/tributary-io/tributary/platform/nodetest"
)

// A secured cluster: every node's only listener needs TLS (SASL_SSL, or SSL
// with required client certificates), the authorizer is on, and the brokers
// replicate and write transaction markers to each other over that listener
// as an authenticated super user. The harness in harness_test.go starts
// plaintext nodes; this file starts its own through nodetest, with a config
// file per node.

// clusterPKI is a CA and the certificates of the test, as PEM files written
// by authtest.
type clusterPKI struct {
	*authtest.PKI
	caFile string
}

func newClusterPKI(t *testing.T) *clusterPKI {
	t.Helper()
	p := authtest.NewPKI(t)
	return &clusterPKI{PKI: p, caFile: p.CAFile()}
}

// issue signs a certificate for cn, usable as a server (127.0.0.1) and a
// client, and returns its cert and key files.
func (p *clusterPKI) issue(t *testing.T, cn string) (string, string) {
	t.Helper()
	return p.Issue(t, cn, authtest.CertOptions{Usage: authtest.ServerAndClient})
}

// Users of the secured clusters.
const (
	secAdmin      = "admin"
	secAdminPass  = "admin-secret"
	secBroker     = "broker"
	secBrokerPass = "broker-secret"
	secAlice      = "alice"
	secAlicePass  = "alice-secret"
)

// secureSpec is how the nodes of a secured cluster are configured.
type secureSpec struct {
	protocol string // SASL_SSL or SSL
	// security is the node config's security: section, without the TLS files.
	security string
	// env are extra environment variables of every node.
	env []string
}

// secureNode is one process of a secured cluster.
type secureNode struct {
	id                int32
	kafka, http, raft string
	proc              *nodetest.Node
}

// secureStopLimit bounds each node's controlled shutdown at the end of a test.
const secureStopLimit = 25 * time.Second

// startSecureCluster starts three nodes configured by spec (each node's
// certificate is node-N, CN=node-N) and waits until all are ready. When the
// test ends they are stopped together with SIGTERM, and one that does not
// exit within secureStopLimit fails the test.
func startSecureCluster(t *testing.T, pki *clusterPKI, spec secureSpec) []*secureNode {
	t.Helper()
	addrs := nodetest.FreeAddrs(t, 9)
	var nodes []*secureNode
	var peers []string
	for i := range 3 {
		n := &secureNode{id: int32(i + 1), kafka: addrs[3*i], http: addrs[3*i+1], raft: addrs[3*i+2]}
		nodes = append(nodes, n)
		peers = append(peers, fmt.Sprintf("%d@%s", n.id, n.raft))
	}
	for _, n := range nodes {
		cert, key := pki.issue(t, fmt.Sprintf("node-%d", n.id))
		conf := fmt.Sprintf(`node_id: %d
log_level: info
worker:
  disabled: true
cluster:
  raft_addr: %s
  peers: [%s]
security:
  tls_cert_file: %s
  tls_key_file: %s
  tls_ca_file: %s
%s`, n.id, n.raft, strings.Join(peers, ", "), cert, key, pki.caFile, spec.security)
		// nodetest gives the listener as a plaintext address; the flag after
		// it wins and names the protocol.
		n.proc = bin.NewNode(t, nodetest.Name(fmt.Sprintf("secure node %d", n.id)), nodetest.Ports(n.kafka, n.http),
			nodetest.Config(conf), nodetest.EnvVars(spec.env...),
			nodetest.Flags("--listeners", spec.protocol+"://"+n.kafka, "--shutdown-timeout", "20s",
				"--cluster-session-timeout", "2s", "--cluster-heartbeat-interval", "250ms", "--cluster-replica-lag-max", "5s"))
		n.proc.Launch()
	}
	// Registered after the launches, so it runs before nodetest's own
	// cleanups (which log each node's output when the test failed).
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Go(func() {
				if _, err := n.proc.Stop(secureStopLimit); err != nil {
					t.Errorf("node %d: %v", n.id, err)
				}
			})
		}
		wg.Wait()
	})
	for _, n := range nodes {
		n.proc.WaitReady()
	}
	return nodes
}

// secureClient is a franz-go client of every node over TLS, with opts
// (SASL or a client certificate), closed with the test.
func secureClient(t *testing.T, nodes []*secureNode, tlsCfg *tls.Config, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	var seeds []string
	for _, n := range nodes {
		seeds = append(seeds, n.kafka)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.DialTLSConfig(tlsCfg),
		kgo.RetryTimeout(30 * time.Second), kgo.RecordDeliveryTimeout(45 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func scramSHA512(user, pass string) kgo.Opt {
	return kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism())
}

// clientTLS is a TLS config trusting the test CA that presents cn's
// certificate (for SSL listeners with required client certificates), or none
// when cn is empty.
func (p *clusterPKI) clientTLS(t *testing.T, cn string) *tls.Config {
	t.Helper()
	var certFile, keyFile string
	if cn != "" {
		certFile, keyFile = p.issue(t, cn)
	}
	return p.ClientTLS(t, certFile, keyFile)
}

func secCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// checkSecureCluster runs the workload against a secured cluster: admin
// creates an RF=3, min.insync.replicas=2 topic and grants user its ACLs;
// user's acks=all records are acknowledged; every follower joins the ISR
// (so replica fetches pass TLS, SASL and CLUSTER_ACTION); user's transaction
// over partitions led by different nodes commits (so markers reach the other
// leaders) and a read_committed consumer sees it.
func checkSecureCluster(t *testing.T, admin, user *kgo.Client, principal string) {
	t.Helper()
	const (
		topic      = "secure-events"
		partitions = 3
		txnID      = "secure-txn"
		plain      = 300
	)
	adm := kadm.NewClient(admin)
	resp, err := adm.CreateTopic(secCtx(t, 30*time.Second), partitions, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	acls := []*kadm.ACLBuilder{
		kadm.NewACLs().Allow(principal).Topics(topic).Operations(kadm.OpWrite, kadm.OpRead, kadm.OpDescribe),
		kadm.NewACLs().Allow(principal).TransactionalIDs(txnID).Operations(kadm.OpWrite, kadm.OpDescribe),
		kadm.NewACLs().Allow(principal).Clusters().Operations(kadm.OpIdempotentWrite),
	}
	for _, b := range acls {
		res, err := adm.CreateACLs(secCtx(t, 10*time.Second), b.ResourcePatternType(kadm.ACLPatternLiteral))
		if err != nil {
			t.Fatalf("create acls: %v", err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("create acl %+v: %v", r, r.Err)
			}
		}
	}

	// Acknowledged acks=all records: min.insync.replicas=2 needs a follower
	// in the ISR, which only secure replication can put there.
	start := time.Now()
	var recs []*kgo.Record
	for i := range plain {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % partitions), Value: fmt.Appendf(nil, "plain-%d", i)})
	}
	if err := boundedProduce(t, user, 60*time.Second, recs); err != nil {
		t.Fatalf("acks=all produce as %s: %v", principal, err)
	}
	t.Logf("%d acks=all records acknowledged in %s", plain, time.Since(start).Round(time.Millisecond))

	// Every follower in the ISR, as each node reports it.
	var leaders map[int32]int32
	waitFor(t, 60*time.Second, "ISR of 3 on every partition", func() bool {
		md, err := adm.Metadata(secCtx(t, 5*time.Second), topic)
		if err != nil {
			return false
		}
		td, ok := md.Topics[topic]
		if !ok || td.Err != nil || len(td.Partitions) != partitions {
			return false
		}
		leaders = map[int32]int32{}
		for p, pd := range td.Partitions {
			if len(pd.ISR) != 3 || pd.Err != nil {
				return false
			}
			leaders[p] = pd.Leader
		}
		return true
	})
	distinct := map[int32]bool{}
	for _, l := range leaders {
		distinct[l] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("partition leaders %v: want at least two nodes leading so markers cross brokers", leaders)
	}

	// A transaction over every partition.
	txnCl := secureClientLike(t, user, kgo.TransactionalID(txnID), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx := secCtx(t, 60*time.Second)
	if err := txnCl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	var txnRecs []*kgo.Record
	for p := range int32(partitions) {
		txnRecs = append(txnRecs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, "txn-%d", p)})
	}
	if err := boundedProduce(t, txnCl, 60*time.Second, txnRecs); err != nil {
		t.Fatalf("transactional produce: %v", err)
	}
	start = time.Now()
	if err := txnCl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit across partitions led by %v: %v", leaders, err)
	}
	t.Logf("transaction over partitions led by %v committed in %s", leaders, time.Since(start).Round(time.Millisecond))

	// read_committed sees the committed records on every partition: the
	// markers advanced each leader's last stable offset.
	offsets := map[string]map[int32]kgo.Offset{topic: {}}
	for p := range int32(partitions) {
		offsets[topic][p] = kgo.NewOffset().AtStart()
	}
	reader := secureClientLike(t, user, kgo.ConsumePartitions(offsets), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	seen := map[string]bool{}
	waitFor(t, 60*time.Second, "committed records read back", func() bool {
		fs := reader.PollFetches(secCtx(t, 2*time.Second))
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		for p := range partitions {
			if !seen[fmt.Sprintf("txn-%d", p)] {
				return false
			}
		}
		return len(seen) == plain+partitions
	})
}

// boundedProduce produces recs and waits for their acknowledgement at most
// limit: a cluster whose followers cannot replicate holds acks=all records
// (retriable errors) longer than any client timeout.
func boundedProduce(t *testing.T, cl *kgo.Client, limit time.Duration, recs []*kgo.Record) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, len(recs))
	for _, r := range recs {
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done <- err })
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for range recs {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
		case <-timer.C:
			return fmt.Errorf("records not acknowledged within %s", limit)
		}
	}
	return nil
}

// secureClientLike is a client with base's seeds and credentials plus opts.
func secureClientLike(t *testing.T, base *kgo.Client, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(base.Opts(), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Every listener SASL_SSL, the authorizer on: brokers authenticate to each
// other with SCRAM-SHA-256 as a super user (password from the environment),
// the client is a normal user with ACLs.
func TestSecureClusterSASLSSL(t *testing.T) {
	pki := newClusterPKI(t)
	nodes := startSecureCluster(t, pki, secureSpec{
		protocol: "SASL_SSL",
		security: fmt.Sprintf(`  authorizer: true
  super_users: ["User:%s", "User:%s"]
  users: ["%s:%s", "%s:%s", "%s:%s"]
  inter_broker_sasl_mechanism: SCRAM-SHA-256
  inter_broker_user: %s
`, secAdmin, secBroker, secAdmin, secAdminPass, secBroker, secBrokerPass, secAlice, secAlicePass, secBroker),
		env: []string{"TRIBUTARY_SECURITY_INTER_BROKER_PASSWORD=" + secBrokerPass},
	})
	tlsCfg := pki.clientTLS(t, "")
	admin := secureClient(t, nodes, tlsCfg, scramSHA512(secAdmin, secAdminPass))
	alice := secureClient(t, nodes, tlsCfg, scramSHA512(secAlice, secAlicePass))
	checkSecureCluster(t, admin, alice, "User:"+secAlice)
}

// Every listener SSL with required client certificates: brokers present
// their node certificates, whose subjects are super users.
func TestSecureClusterMutualTLS(t *testing.T) {
	pki := newClusterPKI(t)
	nodes := startSecureCluster(t, pki, secureSpec{
		protocol: "SSL",
		security: `  tls_client_auth: required
  authorizer: true
  super_users: ["User:CN=admin,O=tributary", "User:CN=node-1,O=tributary", "User:CN=node-2,O=tributary", "User:CN=node-3,O=tributary"]
`,
	})
	admin := secureClient(t, nodes, pki.clientTLS(t, "admin"))
	alice := secureClient(t, nodes, pki.clientTLS(t, "alice"))
	checkSecureCluster(t, admin, alice, "User:CN=alice,O=tributary")
}
