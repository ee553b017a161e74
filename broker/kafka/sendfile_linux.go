package kafka

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/tributary-io/tributary/broker/log"
)

// sendfileSupported: Linux has sendfile(2) with an explicit input offset.
const sendfileSupported = true

// maxSendfileChunk bounds one sendfile call (Linux caps a call near 2 GiB anyway).
const maxSendfileChunk = 1 << 30

// sendRegion sends reg from its file to the socket behind raw with sendfile(2). The
// offset is passed explicitly, so the file's shared offset is never used. When the
// socket buffer is full the goroutine parks in the poller until it drains.
func sendRegion(raw rawConn, reg log.Region) error {
	fileRaw, err := reg.File.SyscallConn()
	if err != nil {
		return fmt.Errorf("file descriptor: %w", err)
	}
	var opErr error
	ctlErr := fileRaw.Control(func(fileFD uintptr) {
		off := reg.Pos
		remain := reg.Len
		werr := raw.Write(func(sockFD uintptr) bool {
			for remain > 0 {
				n, err := syscall.Sendfile(int(sockFD), int(fileFD), &off, int(min(remain, maxSendfileChunk)))
				if n > 0 {
					remain -= int64(n)
				}
				switch {
				case errors.Is(err, syscall.EAGAIN):
					return false // wait until the socket is writable
				case errors.Is(err, syscall.EINTR):
					continue
				case err != nil:
					opErr = err
					return true
				case n == 0:
					// The file ends before the region does: the segment changed
					// under a read result, which must not happen.
					opErr = io.ErrUnexpectedEOF
					return true
				}
			}
			return true
		})
		if werr != nil && opErr == nil {
			opErr = werr
		}
	})
	if ctlErr != nil {
		return ctlErr
	}
	return opErr
}

// setCork sets TCP_CORK; errors are ignored (it only affects packet boundaries).
func setCork(raw rawConn, on bool) {
	v := 0
	if on {
		v = 1
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, v)
	})
}
