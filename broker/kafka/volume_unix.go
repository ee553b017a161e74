//go:build linux || darwin

package kafka

import (
	"fmt"
	"syscall"
)

// volumeBytes returns the size of the volume holding path and the bytes an
// unprivileged process may still write there.
func volumeBytes(path string) (total, usable int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return -1, -1, fmt.Errorf("statfs %s: %w", path, err)
	}
	return int64(st.Blocks) * int64(st.Bsize), int64(st.Bavail) * int64(st.Bsize), nil
}
