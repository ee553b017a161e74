package streams

import "errors"

var (
	// ErrFenced means another instance with the same transactional id (or a
	// newer group generation) took over: the instance dropped its tasks.
	ErrFenced = errors.New("streams: instance fenced")
	// ErrNoStore is returned by interactive queries for an unknown store.
	ErrNoStore = errors.New("streams: no such store")
	// ErrClosed is returned when the App was stopped.
	ErrClosed = errors.New("streams: app closed")

	errCorruptList = errors.New("streams: corrupt value list in join buffer")
)
