package console

import (
	"errors"
	"net/http"
	"sort"
)

// Workers is the console's view of the connectors and pipelines the
// cluster's workers run. The node adapts its worker to it.
type Workers interface {
	// Units lists every connector and pipeline. It returns ErrNoWorkers
	// when this node runs no worker.
	Units() ([]Unit, error)
}

// ErrNoWorkers says the node runs no worker; the page shows that state.
var ErrNoWorkers = errors.New("this node runs no worker")

// Unit is one connector or pipeline.
type Unit struct {
	Kind   string // "connector" or "pipeline"
	Name   string
	Type   string // connector type (source, sink); "" for pipelines
	State  string // overall state, as Kafka Connect names it
	Paused bool
	Worker string // the worker running it (first task's worker)
	Trace  string // the error of a failed unit, if any
	Tasks  []Task
	// Records is the total the unit has moved so far; the console turns
	// it into a rate. Outcomes splits a pipeline's records (in, out,
	// filtered, dead_lettered).
	Records  float64
	Outcomes map[string]float64
	// Counted says Records is known. When it is not, the console counts
	// over the Kafka protocol: the records a sink's Group committed, or
	// the records in a source's Topic (whoever wrote them).
	Counted bool
	Group   string
	Topic   string
}

// Task is one task of a connector.
type Task struct {
	ID     int
	State  string
	Worker string
	Trace  string
}

// unitRow is a Unit with its rate.
type unitRow struct {
	Unit
	Rate float64
}

type workersData struct {
	Available  bool
	Reason     string
	Connectors []unitRow
	Pipelines  []unitRow
}

func (c *Console) listUnits() []Unit {
	units, err := c.cfg.Workers.Units()
	if err != nil {
		return nil
	}
	return units
}

func (c *Console) workersPage(w http.ResponseWriter, _ *http.Request) {
	d := workersData{Available: c.cfg.Workers != nil, Reason: ErrNoWorkers.Error() + " (worker.disabled, or it failed to start: see the node's log)"}
	var errs []string
	if d.Available {
		units, err := c.cfg.Workers.Units()
		switch {
		case errors.Is(err, ErrNoWorkers):
			d.Available, d.Reason = false, err.Error()
		case err != nil:
			errs = append(errs, "list connectors and pipelines: "+err.Error())
		}
		sort.Slice(units, func(i, j int) bool { return units[i].Name < units[j].Name })
		for _, u := range units {
			key := u.Kind + "/" + u.Name
			row := unitRow{Unit: u, Rate: c.rates.get(key)}
			if !u.Counted {
				row.Records, row.Counted = c.rates.latest(key)
			}
			if u.Kind == "pipeline" {
				d.Pipelines = append(d.Pipelines, row)
			} else {
				d.Connectors = append(d.Connectors, row)
			}
		}
	}
	c.render(w, "workers", page{Title: "Connectors & pipelines", Nav: "workers", Errs: errs, Refresh: 10, Data: d})
}
