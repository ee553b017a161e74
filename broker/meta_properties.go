package broker

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// metaPropertiesName is the file in the data dir that pins the cluster id and node
// id, as Kafka's meta.properties does: a data dir never silently joins another
// cluster or changes its node id.
const metaPropertiesName = "meta.properties"

// loadOrCreateMetaProperties returns the cluster id kept in path, writing the file
// on first start with configured (or, when empty, a new random id). A configured
// cluster id or node id that disagrees with the file is an error.
func loadOrCreateMetaProperties(path, configured string, nodeID int32) (string, error) {
	props, err := readProperties(path)
	if errors.Is(err, os.ErrNotExist) {
		id := configured
		if id == "" {
			if id, err = newClusterID(); err != nil {
				return "", err
			}
		}
		if err := writeMetaProperties(path, id, nodeID); err != nil {
			return "", err
		}
		return id, nil
	}
	if err != nil {
		return "", err
	}
	id := props["cluster.id"]
	if id == "" {
		return "", fmt.Errorf("%s: no cluster.id", path)
	}
	if configured != "" && configured != id {
		return "", fmt.Errorf("%s: data dir belongs to cluster %q, configured cluster id is %q", path, id, configured)
	}
	if s, ok := props["node.id"]; ok {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return "", fmt.Errorf("%s: node.id=%q: %w", path, s, err)
		}
		if int32(n) != nodeID {
			return "", fmt.Errorf("%s: data dir belongs to node %d, configured node.id is %d", path, n, nodeID)
		}
	}
	return id, nil
}

// newClusterID returns a random 16-byte id in Kafka's style (URL-safe base64, 22 chars).
func newClusterID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate cluster id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// readProperties parses a Java-style key=value file (comments with # or !).
func readProperties(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	props := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: malformed line %q", path, line)
		}
		props[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return props, sc.Err()
}

// writeMetaProperties writes the file atomically: a temp file, fsync, rename, and
// an fsync of the directory so the rename survives a crash.
func writeMetaProperties(path, clusterID string, nodeID int32) error {
	content := fmt.Sprintf("#\n# Written by tributary on first start. Do not edit.\nversion=1\ncluster.id=%s\nnode.id=%d\n", clusterID, nodeID)
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, metaPropertiesName+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
