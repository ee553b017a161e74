package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// Files under a Local's directory.
const (
	snapshotFileName   = "snapshot.json"
	commandLogFileName = "commands.log"
)

// logEntry is one line of commands.log: the snapshot version the command
// produces, a CRC-32C of the command's JSON, and the command.
type logEntry struct {
	Version uint64          `json:"version"`
	CRC     uint32          `json:"crc"`
	Command json.RawMessage `json:"command"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeEntry returns the newline-terminated line recording cmd at version.
func encodeEntry(version uint64, cmd Command) ([]byte, error) {
	body, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	line, err := json.Marshal(logEntry{Version: version, CRC: crc32.Checksum(body, castagnoli), Command: body})
	if err != nil {
		return nil, fmt.Errorf("encode command log entry: %w", err)
	}
	return append(line, '\n'), nil
}

// decodeEntry parses one line (without its newline).
func decodeEntry(line []byte) (uint64, Command, error) {
	var e logEntry
	if err := json.Unmarshal(line, &e); err != nil {
		return 0, Command{}, fmt.Errorf("not a command log entry: %w", err)
	}
	if got := crc32.Checksum(e.Command, castagnoli); got != e.CRC {
		return 0, Command{}, fmt.Errorf("command checksum %08x, recorded %08x", got, e.CRC)
	}
	var cmd Command
	dec := json.NewDecoder(bytes.NewReader(e.Command))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cmd); err != nil {
		return 0, Command{}, fmt.Errorf("decode command: %w", err)
	}
	return e.Version, cmd, nil
}

// loadResult is the metadata recovered from a directory's files.
type loadResult struct {
	meta *Metadata
	// logLen is how many bytes of commands.log are whole lines; the rest is a torn
	// write from a crash and is cut off before appending.
	logLen int64
	// replayed counts the commands applied from the log.
	replayed int
}

// load rebuilds the metadata from a snapshot (nil when there is none) and a
// command log: entries the snapshot already covers are skipped (a crash between
// writing a snapshot and emptying the log leaves them), the rest must follow on
// without gaps and apply cleanly. Bytes after the last newline are a torn write
// and are ignored; any other damage is an error naming the line.
func load(snapshot, commands []byte, clusterID string, self int32) (loadResult, error) {
	m := NewMetadata(clusterID, self)
	if snapshot != nil {
		s, err := UnmarshalSnapshot(snapshot)
		if err != nil {
			return loadResult{}, fmt.Errorf("%s: %w", snapshotFileName, err)
		}
		switch {
		case clusterID == "":
			clusterID = s.ClusterID
		case s.ClusterID != "" && s.ClusterID != clusterID:
			return loadResult{}, fmt.Errorf("%s: metadata belongs to cluster %q, this broker is configured for %q",
				snapshotFileName, s.ClusterID, clusterID)
		}
		s.ClusterID, s.ControllerID = clusterID, self
		m.Restore(s)
	}
	res := loadResult{meta: m}
	whole := bytes.LastIndexByte(commands, '\n') + 1
	res.logLen = int64(whole)
	for lineNo, rest := 1, commands[:whole]; len(rest) > 0; lineNo++ {
		i := bytes.IndexByte(rest, '\n')
		line := rest[:i]
		rest = rest[i+1:]
		version, cmd, err := decodeEntry(line)
		if err != nil {
			return loadResult{}, fmt.Errorf("%s line %d: %w", commandLogFileName, lineNo, err)
		}
		cur := m.Snapshot().Version
		if version <= cur {
			continue
		}
		if version != cur+1 {
			return loadResult{}, fmt.Errorf("%s line %d: version %d follows %d; entries are missing",
				commandLogFileName, lineNo, version, cur)
		}
		if err := m.Apply(cmd); err != nil {
			return loadResult{}, fmt.Errorf("%s line %d: replay: %w", commandLogFileName, lineNo, err)
		}
		res.replayed++
	}
	return res, nil
}

// readOptional reads a file, returning nil without error when it does not exist.
func readOptional(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// writeFileAtomic writes data to path through a synced temporary file and a
// rename, then syncs the directory so the rename itself survives a crash.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, werr)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
