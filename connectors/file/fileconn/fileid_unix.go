//go:build unix

package fileconn

import (
	"os"
	"syscall"
)

// idOf returns the file's device and inode.
func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileID{}
}

// platformErr is nil: unix systems give device and inode numbers.
var platformErr error
