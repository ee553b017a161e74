package console

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
)

type brokerRow struct {
	ID         int32
	Addr       string
	Rack       string
	Controller bool
	Leaders    int
	Size       int64
}

// attentionRow is a partition that is offline, under-replicated or
// otherwise erroring.
type attentionRow struct {
	Topic     string
	Partition int32
	Problem   string
	Leader    string
	Replicas  string
	ISR       string
}

type clusterData struct {
	ClusterID  string
	Controller int32
	Brokers    []brokerRow
	Topics     int
	Partitions int
	Attention  []attentionRow
}

// partitionProblem says what is wrong with a partition, or "". minISR is
// the topic's min.insync.replicas (0: unknown).
func partitionProblem(p kadm.PartitionDetail, minISR int) string {
	switch {
	case p.Leader < 0:
		return "offline (no leader)"
	case p.Err != nil:
		return p.Err.Error()
	case len(p.OfflineReplicas) > 0:
		return fmt.Sprintf("offline replicas %v", p.OfflineReplicas)
	case len(p.ISR) < len(p.Replicas):
		return fmt.Sprintf("under-replicated (%d of %d in sync)", len(p.ISR), len(p.Replicas))
	case len(p.ISR) < minISR:
		return fmt.Sprintf("under min ISR (%d in sync, min.insync.replicas=%d): acks=all produce fails", len(p.ISR), minISR)
	}
	return ""
}

// minISRs reads every topic's min.insync.replicas; a topic whose configs
// cannot be read is left out (its partitions are then judged without it).
func minISRs(ctx context.Context, adm *kadm.Client, topics []string) (map[string]int, error) {
	out := map[string]int{}
	if len(topics) == 0 {
		return out, nil
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return out, fmt.Errorf("topic configs: %w", err)
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			continue
		}
		for _, c := range rc.Configs {
			if c.Key == "min.insync.replicas" && c.Value != nil {
				if v, err := strconv.Atoi(*c.Value); err == nil {
					out[rc.Name] = v
				}
			}
		}
	}
	return out, nil
}

func leaderText(l int32) string {
	if l < 0 {
		return "none"
	}
	return strconv.Itoa(int(l))
}

func (c *Console) clusterPage(w http.ResponseWriter, r *http.Request) {
	adm, _, err := c.adminClient()
	if err != nil {
		c.fail(w, "cluster", "Cluster", err)
		return
	}
	ctx, cancel := c.requestContext(r)
	defer cancel()
	md, err := adm.Metadata(ctx)
	if err != nil {
		c.fail(w, "cluster", "Cluster", fmt.Errorf("read cluster metadata: %w", err))
		return
	}
	var errs []string
	sizes := map[int32]int64{}
	if dirs, err := adm.DescribeAllLogDirs(ctx, nil); err != nil {
		errs = append(errs, "log sizes unavailable: "+err.Error())
	} else {
		dirs.Each(func(d kadm.DescribedLogDir) { sizes[d.Broker] += d.Size() })
	}
	minISR, err := minISRs(ctx, adm, md.Topics.Names())
	if err != nil {
		errs = append(errs, "min.insync.replicas unknown: "+err.Error())
	}
	d := clusterData{ClusterID: md.Cluster, Controller: md.Controller}
	leaders := map[int32]int{}
	for _, t := range md.Topics.Sorted() {
		d.Topics++
		for _, p := range t.Partitions.Sorted() {
			d.Partitions++
			leaders[p.Leader]++
			if prob := partitionProblem(p, minISR[t.Topic]); prob != "" {
				d.Attention = append(d.Attention, attentionRow{Topic: t.Topic, Partition: p.Partition, Problem: prob,
					Leader: leaderText(p.Leader), Replicas: fmt.Sprint(p.Replicas), ISR: fmt.Sprint(p.ISR)})
			}
		}
	}
	for _, b := range md.Brokers {
		row := brokerRow{ID: b.NodeID, Addr: net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))),
			Controller: b.NodeID == md.Controller, Leaders: leaders[b.NodeID], Size: sizes[b.NodeID]}
		if b.Rack != nil {
			row.Rack = *b.Rack
		}
		d.Brokers = append(d.Brokers, row)
	}
	slices.SortFunc(d.Brokers, func(a, b brokerRow) int { return int(a.ID - b.ID) })
	c.render(w, "cluster", page{Title: "Cluster", Nav: "cluster", Errs: errs, Refresh: 15, Data: d})
}
