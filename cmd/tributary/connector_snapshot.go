package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/sdk"
)

// snapshotState is how far a source task's initial snapshot got, as its
// last committed position says.
type snapshotState struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
	// Started is false while the task has committed no position yet.
	Started bool `json:"started"`
	// Tables is how many tables the snapshot reads, TablesRead how many it
	// finished, and Table the one it reads now ("" when done).
	Tables     int    `json:"tables"`
	TablesRead int    `json:"tables_read"`
	Table      string `json:"table,omitempty"`
	Done       bool   `json:"done"`
}

// snapshotPosition is the part of a change-capture source's position that
// tracks its snapshot: the PostgreSQL CDC source (connectors/postgres)
// writes {"s": {"t": [[schema, table]...], "i": index of the table being
// read, "d": done}} while a snapshot matters, and drops "s" after.
type snapshotPosition struct {
	Snap *struct {
		Tables [][2]string `json:"t"`
		Table  int         `json:"i"`
		Done   bool        `json:"d"`
	} `json:"s"`
}

// decodeSnapshot reads the snapshot progress out of a task's position
// (nil: no position committed yet).
func decodeSnapshot(name string, task int, pos sdk.Position) (snapshotState, error) {
	st := snapshotState{Connector: name, Task: task}
	if pos == nil {
		return st, nil
	}
	st.Started = true
	var p snapshotPosition
	if err := json.Unmarshal(pos, &p); err != nil {
		return st, fmt.Errorf("connector %s task %d: its position is not one of a change-capture source (%v); only sources that report snapshot progress (postgres-cdc) can be followed", name, task, err)
	}
	if p.Snap == nil {
		st.Done = true // the snapshot is over (or none was taken)
		return st, nil
	}
	st.Tables = len(p.Snap.Tables)
	st.TablesRead = min(max(p.Snap.Table, 0), st.Tables)
	st.Done = p.Snap.Done
	if st.Done {
		st.TablesRead = st.Tables
	} else if st.TablesRead < st.Tables {
		t := p.Snap.Tables[st.TablesRead]
		st.Table = t[0] + "." + t[1]
	}
	return st, nil
}

// connectorSnapshot follows the initial snapshot of a change-capture source
// connector's task with a progress bar of tables read until it is done,
// from the positions the task commits to the offsets topic.
func connectorSnapshot(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "connector snapshot", "connector snapshot NAME [--task N] [--no-wait] [--timeout D]\n\n"+
		"  Follows a change-capture source's initial snapshot (postgres) until every table is read. The end\n"+
		"  shows in the first position the task commits after it: a streamed change or a heartbeat record.")
	cf := addClientFlags(fs, c)
	task := fs.Int("task", 0, "the `task` to follow")
	noWait := fs.Bool("no-wait", false, "print where the snapshot is and return")
	timeout := fs.Duration("timeout", 0, "give up after this long (0: wait until done or Ctrl-C)")
	every := fs.Duration("interval", time.Second, "how often to read the position")
	progressMode := addProgressFlag(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if err := checkProgress(*progressMode); err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("give one connector name")
	}
	if *task < 0 || *timeout < 0 || *every <= 0 {
		return usageErrorf("--task and --timeout must not be negative, --interval must be positive")
	}
	name := rest[0]
	opts, err := cf.security.opts()
	if err != nil {
		return err
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	var bar *progress
	if !*noWait {
		bar = newProgress(c, *progressMode, "snapshot "+name, 0)
		if bar != nil {
			bar.unit = " tables"
		}
		defer bar.Finish()
	}
	id := name + "-" + strconv.Itoa(*task) // connect.TaskConfig.ID
	tick := time.NewTicker(*every)
	defer tick.Stop()
	var last snapshotState
	notDone := func() error {
		bar.Finish()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("snapshot of %s not done after %s: %d of %d tables read", name, *timeout, last.TablesRead, last.Tables)
		}
		return ctx.Err()
	}
	for {
		rctx, cancel := cf.requestContext(ctx)
		pos, err := connect.ReadPosition(rctx, cf.seeds(), opts, id)
		cancel()
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			pos, err = nil, nil // no worker has committed anything yet
		}
		if err != nil {
			if ctx.Err() != nil {
				return notDone()
			}
			return fmt.Errorf("read the position of connector %s task %d: %w", name, *task, err)
		}
		st, err := decodeSnapshot(name, *task, pos)
		if err != nil {
			return err
		}
		last = st
		if st.Tables > 0 {
			bar.SetTotal(int64(st.Tables))
		}
		note := st.Table
		if !st.Started {
			note = "waiting for the task's first position"
		}
		bar.Set(int64(st.TablesRead), note)
		if st.Done || *noWait {
			bar.Finish()
			return printSnapshot(c, cf, st)
		}
		select {
		case <-ctx.Done():
			return notDone()
		case <-tick.C:
		}
	}
}

func printSnapshot(c *cli, cf *clientFlags, st snapshotState) error {
	if cf.structured() {
		return cf.write(c.stdout, st)
	}
	switch {
	case !st.Started:
		fmt.Fprintf(c.stdout, "%s task %d: no position committed yet\n", st.Connector, st.Task)
	case st.Done && st.Tables == 0:
		fmt.Fprintf(c.stdout, "%s task %d: no snapshot in progress (it is done, or none was taken)\n", st.Connector, st.Task)
	case st.Done:
		fmt.Fprintf(c.stdout, "%s task %d: snapshot done (%d tables)\n", st.Connector, st.Task, st.Tables)
	default:
		fmt.Fprintf(c.stdout, "%s task %d: snapshot read %d of %d tables, now %s\n", st.Connector, st.Task, st.TablesRead, st.Tables, st.Table)
	}
	return nil
}
