package cluster

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// raftFSM is the Raft driver seen by hashicorp/raft: it applies committed
// commands to the metadata state machine and publishes the result. It is a
// conversion of *Raft so the FSM methods do not clutter the driver's API.
type raftFSM Raft

// applyResult is what Apply returns to the proposer through the future.
type applyResult struct {
	snap *Snapshot
	err  error
}

// Apply implements raft.FSM. A command the state machine refuses changes
// nothing on any node (it is deterministic), and the error goes back to the
// proposer.
func (f *raftFSM) Apply(l *raft.Log) any {
	d := (*Raft)(f)
	if l.Type != raft.LogCommand {
		return nil
	}
	var cmd Command
	if err := json.Unmarshal(l.Data, &cmd); err != nil {
		return applyResult{err: fmt.Errorf("%w: decode raft entry %d: %v", ErrInvalidCommand, l.Index, err)}
	}
	if err := d.meta.Apply(cmd); err != nil {
		return applyResult{err: err}
	}
	d.publish()
	return applyResult{snap: d.meta.Snapshot()}
}

// Snapshot implements raft.FSM: the state is immutable, so holding the pointer
// is enough; Persist marshals it.
func (f *raftFSM) Snapshot() (raft.FSMSnapshot, error) {
	return fsmSnapshot{s: (*Raft)(f).meta.Snapshot()}, nil
}

// Restore implements raft.FSM.
func (f *raftFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("read raft snapshot: %w", err)
	}
	s, err := UnmarshalSnapshot(b)
	if err != nil {
		return err
	}
	d := (*Raft)(f)
	d.meta.Restore(s)
	d.publish()
	return nil
}

type fsmSnapshot struct{ s *Snapshot }

func (f fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	b, err := MarshalSnapshot(f.s)
	if err == nil {
		_, err = sink.Write(b)
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist metadata snapshot: %w", err)
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}
