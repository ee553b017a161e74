package pgoutput

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Message type bytes inside the CopyData of a replication stream.
const (
	streamXLogData  = 'w'
	streamKeepalive = 'k'
	streamStatus    = 'r'
)

// XLogData carries one pgoutput message.
type XLogData struct {
	// WALStart is the LSN the message was decoded at: for a change, the
	// change's WAL record; for Begin and Commit, the transaction's.
	WALStart LSN
	// WALEnd is the server's current end of WAL.
	WALEnd     LSN
	ServerTime time.Time
	// Data is the pgoutput message; it aliases the input.
	Data []byte
}

// Keepalive is the server's primary keepalive message.
type Keepalive struct {
	// WALEnd is how far the server has sent: every transaction that
	// committed before it has been sent already.
	WALEnd     LSN
	ServerTime time.Time
	// ReplyRequested asks for a status update at once, or the server
	// disconnects after wal_sender_timeout.
	ReplyRequested bool
}

// ParseStreamMessage decodes the payload of a CopyData message received on
// a replication stream: *XLogData or *Keepalive.
func ParseStreamMessage(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("replication stream: empty CopyData")
	}
	r := &reader{b: data, off: 1}
	switch data[0] {
	case streamXLogData:
		x := &XLogData{WALStart: r.lsn("XLogData start"), WALEnd: r.lsn("XLogData end"), ServerTime: r.time("XLogData time")}
		if r.err != nil {
			return nil, fmt.Errorf("replication stream: %w", r.err)
		}
		x.Data = data[r.off:]
		return x, nil
	case streamKeepalive:
		k := &Keepalive{WALEnd: r.lsn("keepalive end"), ServerTime: r.time("keepalive time"), ReplyRequested: r.u8("keepalive reply") == 1}
		if err := r.done("keepalive"); err != nil {
			return nil, fmt.Errorf("replication stream: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("replication stream: unknown message type %q", data[0])
}

// StandbyStatus is the client's status update.
type StandbyStatus struct {
	// Written, Flushed and Applied are the positions the client received,
	// made durable and applied. For logical replication the server takes
	// Flushed as the slot's confirmed_flush_lsn: the slot may discard WAL
	// and never replay transactions that committed before it.
	Written, Flushed, Applied LSN
	ClientTime                time.Time
	ReplyRequested            bool
}

// AppendStandbyStatus appends the CopyData payload of a status update.
func AppendStandbyStatus(dst []byte, s StandbyStatus) []byte {
	dst = append(dst, streamStatus)
	dst = binary.BigEndian.AppendUint64(dst, uint64(s.Written))
	dst = binary.BigEndian.AppendUint64(dst, uint64(s.Flushed))
	dst = binary.BigEndian.AppendUint64(dst, uint64(s.Applied))
	dst = binary.BigEndian.AppendUint64(dst, uint64(PGMicros(s.ClientTime)))
	reply := byte(0)
	if s.ReplyRequested {
		reply = 1
	}
	return append(dst, reply)
}
