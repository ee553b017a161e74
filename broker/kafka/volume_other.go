//go:build !linux && !darwin

package kafka

import "errors"

// volumeBytes is not implemented on this platform; DescribeLogDirs answers -1
// (unknown) for the volume sizes.
func volumeBytes(path string) (total, usable int64, err error) {
	return -1, -1, errors.New("volume size is not available on this platform")
}
