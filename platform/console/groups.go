package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

type groupRow struct {
	Name     string
	State    string
	Protocol string
	Members  int
	Lag      string
}

func (c *Console) groupsPage(w http.ResponseWriter, r *http.Request) {
	adm, _, err := c.adminClient()
	if err != nil {
		c.fail(w, "groups", "Consumer groups", err)
		return
	}
	ctx, cancel := c.requestContext(r)
	defer cancel()
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		c.fail(w, "groups", "Consumer groups", fmt.Errorf("list groups: %w", err))
		return
	}
	var errs []string
	var lags kadm.DescribedGroupLags
	if len(listed) > 0 {
		if lags, err = adm.Lag(ctx, listed.Groups()...); err != nil {
			errs = append(errs, "lag unavailable: "+err.Error())
		}
	}
	var rows []groupRow
	for _, g := range listed.Sorted() {
		row := groupRow{Name: g.Group, State: g.State, Protocol: g.ProtocolType, Lag: "?"}
		if l, ok := lags[g.Group]; ok {
			row.Members = len(l.Members)
			if l.State != "" {
				row.State = l.State
			}
			if l.Error() == nil {
				row.Lag = fmt.Sprint(l.Lag.Total())
			}
		}
		rows = append(rows, row)
	}
	c.render(w, "groups", page{Title: "Consumer groups", Nav: "groups", Errs: errs, Refresh: 10, Data: rows})
}

type memberRow struct {
	ID, Instance, Client, Host string
	Assigned                   []string
}

type lagRow struct {
	Topic     string
	Partition int32
	Commit    string
	End       int64
	Lag       string
	Member    string
}

type groupData struct {
	State, Protocol, ProtocolType string
	Coordinator                   int32
	TotalLag                      int64
	Members                       []memberRow
	Lags                          []lagRow
	Spark                         *spark
}

func (c *Console) groupPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	title := "Group " + name
	adm, _, err := c.adminClient()
	if err != nil {
		c.fail(w, "groups", title, err)
		return
	}
	ctx, cancel := c.requestContext(r)
	defer cancel()
	lags, err := adm.Lag(ctx, name)
	if err != nil {
		c.fail(w, "groups", title, fmt.Errorf("describe group %s: %w", name, err))
		return
	}
	l, ok := lags[name]
	if !ok || l.DescribeErr != nil || l.State == "Dead" {
		reason := "no such group"
		if ok && l.DescribeErr != nil {
			reason = l.DescribeErr.Error()
		}
		w.WriteHeader(http.StatusNotFound)
		_ = c.pages["groups"].ExecuteTemplate(w, "layout", page{Title: title, Nav: "groups",
			Errs: []string{fmt.Sprintf("group %s: %s", name, reason)}})
		return
	}
	var errs []string
	if l.FetchErr != nil {
		errs = append(errs, "committed offsets unavailable: "+l.FetchErr.Error())
	}
	d := groupData{State: l.State, Protocol: l.Protocol, ProtocolType: l.ProtocolType,
		Coordinator: l.Coordinator.NodeID, TotalLag: l.Lag.Total(), Spark: sparkOf(c.lags.samples(name))}
	for _, m := range l.Members {
		row := memberRow{ID: m.MemberID, Client: m.ClientID, Host: m.ClientHost}
		if m.InstanceID != nil {
			row.Instance = *m.InstanceID
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				ps := slices.Clone(t.Partitions)
				slices.Sort(ps)
				row.Assigned = append(row.Assigned, fmt.Sprintf("%s %s", t.Topic, joinInts(ps)))
			}
		}
		d.Members = append(d.Members, row)
	}
	for _, ml := range l.Lag.Sorted() {
		row := lagRow{Topic: ml.Topic, Partition: ml.Partition, Commit: "none", End: ml.End.Offset, Lag: "?"}
		if ml.Commit.At >= 0 {
			row.Commit = fmt.Sprint(ml.Commit.At)
		}
		if ml.Lag >= 0 {
			row.Lag = fmt.Sprint(ml.Lag)
		}
		if ml.Member != nil {
			row.Member = ml.Member.MemberID
		}
		d.Lags = append(d.Lags, row)
	}
	c.render(w, "group", page{Title: title, Nav: "groups", Errs: errs, Refresh: 10, Data: d})
}

func joinInts(ps []int32) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprint(p)
	}
	return "[" + strings.Join(s, ",") + "]"
}
