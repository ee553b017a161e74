package pgconnector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/tributary-io/tributary/connectors/postgres/pgoutput"
)

// streamItem is one thing read from the replication connection: a
// pgoutput message (data, decoded at walStart) or a keepalive's walEnd.
type streamItem struct {
	walStart pgoutput.LSN
	data     []byte
	walEnd   pgoutput.LSN
}

// streamQueue bounds how far the reader runs ahead of Read, in batches.
const streamQueue = 16

// stream owns a replication connection in copy-both mode and the
// goroutine that reads it. The goroutine queues what it reads in items
// (closing it when it ends), and reports the confirmed LSN to the server
// every status interval and whenever the server asks, also while Read is
// not draining the queue. Close stops and waits for it. When items is
// closed, err says why.
type stream struct {
	conn      *pgconn.PgConn
	log       *slog.Logger
	items     chan []streamItem
	confirmed atomic.Uint64
	received  atomic.Uint64 // the newest LSN the server sent; only run writes it
	every     time.Duration
	cancel    context.CancelFunc
	done      chan struct{}
	err       error // written before items closes
}

// startStream starts reading conn, which StartReplication put in
// copy-both mode. confirmed is what the slot has confirmed already.
func startStream(conn *pgconn.PgConn, log *slog.Logger, confirmed pgoutput.LSN, every time.Duration) *stream {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stream{conn: conn, log: log, items: make(chan []streamItem, streamQueue), every: every, cancel: cancel, done: make(chan struct{})}
	s.confirmed.Store(uint64(confirmed))
	go s.run(ctx)
	return s
}

// confirm raises the LSN reported to the server as flushed: the slot may
// drop WAL before it and will not send transactions committed before it.
func (s *stream) confirm(lsn pgoutput.LSN) {
	for {
		old := s.confirmed.Load()
		if uint64(lsn) <= old || s.confirmed.CompareAndSwap(old, uint64(lsn)) {
			return
		}
	}
}

// sendStatus reports the committed LSN as flushed (for a logical slot the
// server takes it as confirmed_flush_lsn) and what was received as
// written, which only informs the server: a written position behind what
// it sent would make an idle walsender send a keepalive every time it
// wakes up.
func (s *stream) sendStatus() error {
	c := pgoutput.LSN(s.confirmed.Load())
	w := max(c, pgoutput.LSN(s.received.Load()))
	return pgoutput.SendStandbyStatus(s.conn, pgoutput.StandbyStatus{Written: w, Flushed: c, Applied: c})
}

func (s *stream) run(ctx context.Context) {
	defer close(s.done)
	ticker := time.NewTicker(s.every)
	defer ticker.Stop()
	s.err = s.loop(ctx, ticker)
	if s.err == nil {
		s.err = errors.New("replication stream: closed")
	}
	close(s.items)
}

func (s *stream) loop(ctx context.Context, ticker *time.Ticker) error {
	var b batch
	for {
		// Messages already buffered are read without waiting (and without
		// the cost of watching a context); the batch goes out when no more
		// are buffered or it is full, so a busy stream costs one queue
		// operation per batch, not per message.
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if s.conn.Frontend().ReadBufferLen() == 0 {
			if len(b.items) > 0 {
				if !s.put(ctx, ticker, b.items) {
					return nil
				}
				b = batch{}
			}
			rctx, cancel = context.WithTimeout(ctx, s.every)
		} else {
			rctx = context.Background()
		}
		msg, err := s.conn.ReceiveMessage(rctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !pgconn.Timeout(err) {
			return fmt.Errorf("replication stream: %w", err)
		}
		select {
		case <-ticker.C:
			if err := s.sendStatus(); err != nil {
				return err
			}
		default:
		}
		if err != nil {
			continue // a receive timeout: time for a status update only
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			parsed, err := pgoutput.ParseStreamMessage(m.Data)
			if err != nil {
				return err
			}
			switch p := parsed.(type) {
			case *pgoutput.XLogData:
				b.add(streamItem{walStart: p.WALStart}, p.Data)
				s.received.Store(max(s.received.Load(), uint64(p.WALStart)))
			case *pgoutput.Keepalive:
				s.received.Store(max(s.received.Load(), uint64(p.WALEnd)))
				if p.ReplyRequested {
					if err := s.sendStatus(); err != nil {
						return err
					}
				}
				b.add(streamItem{walEnd: p.WALEnd}, nil)
			}
			if len(b.items) >= maxBatch {
				if !s.put(ctx, ticker, b.items) {
					return nil
				}
				b = batch{}
			}
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication stream: %w", pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyDone:
			return errors.New("replication stream: the server ended it")
		}
	}
}

// maxBatch bounds the items of one queue entry.
const maxBatch = 512

// batch collects items; their data shares one buffer, because the
// connection reuses its message buffer on the next receive.
type batch struct {
	items []streamItem
	buf   []byte
}

func (b *batch) add(it streamItem, data []byte) {
	if data != nil {
		if cap(b.buf)-len(b.buf) < len(data) {
			// A new buffer: earlier items keep slices of the old one.
			b.buf = make([]byte, 0, max(64<<10, len(data)))
		}
		start := len(b.buf)
		b.buf = append(b.buf, data...)
		it.data = b.buf[start:len(b.buf):len(b.buf)]
	}
	b.items = append(b.items, it)
}

// put queues it, sending status updates while the queue is full so the
// server does not time the connection out. It returns false when the
// stream is stopping.
func (s *stream) put(ctx context.Context, ticker *time.Ticker, items []streamItem) bool {
	for {
		select {
		case s.items <- items:
			return true
		case <-ctx.Done():
			return false
		case <-ticker.C:
			if err := s.sendStatus(); err != nil {
				s.log.Warn("status update failed", "error", err)
			}
		}
	}
}

// close stops the reader, waits for it and closes the connection.
func (s *stream) close() error {
	s.cancel()
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.conn.Close(ctx)
}
