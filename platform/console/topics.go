package console

import (
	"fmt"
	"net/http"

	"github.com/twmb/franz-go/pkg/kadm"
)

type topicRow struct {
	Name        string
	Internal    bool
	Partitions  int
	Replication int
	Records     int64
	Size        int64
	Problem     string
}

// partitionSizes sums each partition's size over every log dir (replicas
// on several nodes count once per replica, which is what takes disk).
func partitionSizes(dirs kadm.DescribedAllLogDirs) map[string]map[int32]int64 {
	out := map[string]map[int32]int64{}
	dirs.Each(func(d kadm.DescribedLogDir) {
		for t, ps := range d.Topics {
			if out[t] == nil {
				out[t] = map[int32]int64{}
			}
			for p, dp := range ps {
				out[t][p] += dp.Size
			}
		}
	})
	return out
}

func (c *Console) topicsPage(w http.ResponseWriter, r *http.Request) {
	adm, _, err := c.adminClient()
	if err != nil {
		c.fail(w, "topics", "Topics", err)
		return
	}
	ctx, cancel := c.requestContext(r)
	defer cancel()
	md, err := adm.Metadata(ctx)
	if err != nil {
		c.fail(w, "topics", "Topics", fmt.Errorf("read metadata: %w", err))
		return
	}
	var errs []string
	sizes := map[string]map[int32]int64{}
	if dirs, err := adm.DescribeAllLogDirs(ctx, nil); err != nil {
		errs = append(errs, "sizes unavailable: "+err.Error())
	} else {
		sizes = partitionSizes(dirs)
	}
	// Named explicitly: with no names the list leaves internal topics out.
	starts, err1 := adm.ListStartOffsets(ctx, md.Topics.Names()...)
	ends, err2 := adm.ListEndOffsets(ctx, md.Topics.Names()...)
	if err1 != nil || err2 != nil {
		errs = append(errs, fmt.Sprintf("offsets unavailable: %v %v", err1, err2))
	}
	minISR, err := minISRs(ctx, adm, md.Topics.Names())
	if err != nil {
		errs = append(errs, "min.insync.replicas unknown: "+err.Error())
	}
	var rows []topicRow
	for _, t := range md.Topics.Sorted() {
		row := topicRow{Name: t.Topic, Internal: t.IsInternal, Partitions: len(t.Partitions)}
		if t.Err != nil {
			row.Problem = t.Err.Error()
		}
		bad := 0
		for _, p := range t.Partitions {
			row.Replication = max(row.Replication, len(p.Replicas))
			row.Size += sizes[t.Topic][p.Partition]
			if e, ok := ends.Lookup(t.Topic, p.Partition); ok && e.Err == nil {
				s, _ := starts.Lookup(t.Topic, p.Partition)
				row.Records += e.Offset - s.Offset
			}
			if partitionProblem(p, minISR[t.Topic]) != "" {
				bad++
			}
		}
		if bad > 0 && row.Problem == "" {
			row.Problem = fmt.Sprintf("%d of %d partitions need attention", bad, len(t.Partitions))
		}
		rows = append(rows, row)
	}
	c.render(w, "topics", page{Title: "Topics", Nav: "topics", Errs: errs, Data: rows})
}

type partitionRow struct {
	Partition  int32
	Leader     string
	Replicas   string
	ISR        string
	Start, End int64
	Size       int64
}

type configRow struct{ Key, Value, Source string }

type topicData struct {
	Name       string
	Partitions []partitionRow
	Configs    []configRow
	Browse     browseResult
}

func (c *Console) topicPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	title := "Topic " + name
	adm, seeds, err := c.adminClient()
	if err != nil {
		c.fail(w, "topics", title, err)
		return
	}
	ctx, cancel := c.requestContext(r)
	defer cancel()
	md, err := adm.Metadata(ctx, name)
	if err != nil {
		c.fail(w, "topics", title, fmt.Errorf("read metadata of %s: %w", name, err))
		return
	}
	t, ok := md.Topics[name]
	if !ok || t.Err != nil {
		w.WriteHeader(http.StatusNotFound)
		reason := "no such topic"
		if ok {
			reason = t.Err.Error()
		}
		_ = c.pages["topics"].ExecuteTemplate(w, "layout", page{Title: title, Nav: "topics",
			Errs: []string{fmt.Sprintf("topic %s: %s", name, reason)}})
		return
	}
	var errs []string
	sizes := map[string]map[int32]int64{}
	if dirs, err := adm.DescribeAllLogDirs(ctx, md.Topics.TopicsSet()); err != nil {
		errs = append(errs, "sizes unavailable: "+err.Error())
	} else {
		sizes = partitionSizes(dirs)
	}
	starts, err1 := adm.ListStartOffsets(ctx, name)
	ends, err2 := adm.ListEndOffsets(ctx, name)
	if err1 != nil || err2 != nil {
		errs = append(errs, fmt.Sprintf("offsets unavailable: %v %v", err1, err2))
	}
	d := topicData{Name: name}
	for _, p := range t.Partitions.Sorted() {
		s, _ := starts.Lookup(name, p.Partition)
		e, _ := ends.Lookup(name, p.Partition)
		d.Partitions = append(d.Partitions, partitionRow{Partition: p.Partition, Leader: leaderText(p.Leader),
			Replicas: fmt.Sprint(p.Replicas), ISR: fmt.Sprint(p.ISR), Start: s.Offset, End: e.Offset,
			Size: sizes[name][p.Partition]})
	}
	if rcs, err := adm.DescribeTopicConfigs(ctx, name); err != nil {
		errs = append(errs, "configs unavailable: "+err.Error())
	} else {
		for _, rc := range rcs {
			if rc.Err != nil {
				errs = append(errs, "configs unavailable: "+rc.Err.Error())
				continue
			}
			for _, cf := range rc.Configs {
				row := configRow{Key: cf.Key, Source: sourceName(cf.Source.String())}
				switch {
				case cf.Sensitive:
					row.Value = "(sensitive)"
				case cf.Value != nil:
					row.Value = *cf.Value
				}
				d.Configs = append(d.Configs, row)
			}
		}
	}
	q, err := parseBrowse(r.URL.Query(), len(d.Partitions))
	if err != nil {
		errs = append(errs, err.Error())
	} else {
		res, err := c.browse(ctx, seeds, name, q, d.Partitions)
		if err != nil {
			errs = append(errs, err.Error())
		}
		d.Browse = res
	}
	d.Browse.browseQuery = q
	c.render(w, "topic", page{Title: title, Nav: "topics", Errs: errs, Data: d})
}

// sourceName shortens kmsg's config source names ("DYNAMIC_TOPIC_CONFIG").
func sourceName(s string) string {
	switch s {
	case "DEFAULT_CONFIG":
		return "default"
	case "DYNAMIC_TOPIC_CONFIG":
		return "topic"
	case "STATIC_BROKER_CONFIG":
		return "broker (static)"
	case "DYNAMIC_BROKER_CONFIG", "DYNAMIC_DEFAULT_BROKER_CONFIG":
		return "broker (dynamic)"
	}
	return s
}
