//go:build !linux

package kafka

import (
	"errors"

	"github.com/tributary-io/tributary/broker/log"
)

// sendfileSupported: other systems copy regions through memory.
const sendfileSupported = false

func sendRegion(rawConn, log.Region) error {
	return errors.New("sendfile is only used on linux")
}

func setCork(rawConn, bool) {}
