//go:build !unix

package fileconn

import (
	"errors"
	"os"
)

// idOf has no inode to offer here.
func idOf(os.FileInfo) fileID { return fileID{} }

// platformErr refuses to run the source: telling renamed files apart needs
// device and inode numbers, which only unix systems give here.
var platformErr = errors.New("file source: needs a unix system")
