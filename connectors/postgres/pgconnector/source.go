package pgconnector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connectors/postgres/pgoutput"
	"github.com/tributary-io/tributary/sdk"
)

// opTimeout bounds each statement on the auxiliary connection made during
// Read: those must not use Read's context, whose deadline is about waiting
// for changes, because an interrupted statement breaks the connection.
const opTimeout = time.Minute

// slotBusyWait bounds how long Open waits for a slot still held by a
// previous session (a killed plugin's walsender that has not noticed yet).
const slotBusyWait = 20 * time.Second

// Source is the CDC source. See the package documentation.
type Source struct {
	log *slog.Logger

	conn          connSettings
	prefix        string
	slot          string
	publication   string
	hbEvery       time.Duration
	hbTopic       string
	statusEvery   time.Duration
	snapshotFetch int

	aux     *pgconn.PgConn // catalog lookups, the snapshot's transaction
	cat     *catalog
	snap    *snapshotter // nil once the snapshot is read (or none is needed)
	stream  *stream
	dec     *decoder
	pending []sdk.Record
	queued  []streamItem // items taken from the stream, not decoded yet
	lastHB  time.Time
	// failed is sticky: after a failure mid-stream the decoder's state is
	// unknown, so every later Read fails too and the host reopens.
	failed error
}

var (
	_ sdk.Source    = (*Source)(nil)
	_ sdk.Committer = (*Source)(nil)
)

func newSource(log *slog.Logger) *Source { return &Source{log: log} }

// Open connects, makes sure the publication and the slot exist, starts a
// snapshot when one is due and starts streaming.
func (s *Source) Open(ctx context.Context, cfg sdk.Config, pos sdk.Position) error {
	s.prefix = cfg.String("topic.prefix")
	s.slot = cfg.String("slot.name")
	s.publication = cfg.String("publication.name")
	s.hbEvery = cfg.Duration("heartbeat.interval")
	s.hbTopic = cfg.String("heartbeat.topic")
	if s.hbTopic == "" {
		s.hbTopic = s.prefix + ".heartbeat"
	}
	s.statusEvery = cfg.Duration("status.interval")
	s.snapshotFetch = int(cfg.Int("snapshot.fetch.size"))
	s.conn = connSettingsFrom(cfg, "tributary-"+s.slot)
	s.log = s.log.With("slot", s.slot)

	var p position
	if pos != nil {
		var err error
		if p, err = decodePosition(pos); err != nil {
			return fmt.Errorf("open postgres source: %w", err)
		}
	}
	var err error
	if s.aux, err = s.conn.connect(ctx, false); err != nil {
		return err
	}
	s.cat = newCatalog(s.aux)
	if err := checkWalLevel(ctx, s.aux); err != nil {
		return err
	}
	tables, captured, err := s.resolve(ctx, cfg)
	if err != nil {
		return err
	}
	repl, err := s.conn.connect(ctx, true)
	if err != nil {
		return err
	}
	started := false
	defer func() {
		if !started {
			repl.Close(context.Background())
		}
	}()
	slot, err := s.ensureSlot(ctx, repl, pos != nil)
	if err != nil {
		return err
	}
	if pos != nil && pgoutput.LSN(p.Resume) < slot.confirmed {
		return fmt.Errorf("replication slot %s has confirmed %s, past the position to resume from (%s): the changes between were acknowledged but never committed here (another consumer of the slot, or the connector's committed offsets were reset); to start over, drop the slot (SELECT pg_drop_replication_slot('%s')) and reset the connector's offsets",
			s.slot, slot.confirmed, pgoutput.LSN(p.Resume), s.slot)
	}

	env := envelope{prefix: s.prefix, db: s.conn.database}
	var progress *snapPos
	switch {
	case pos == nil && cfg.String("snapshot.mode") == "initial":
		progress = &snapPos{Tables: tables}
	case pos == nil:
		p = position{Resume: uint64(slot.confirmed)}
	case p.Snap != nil && !p.Snap.Done:
		progress = p.Snap.clone()
	}
	if progress != nil {
		if s.snap, err = beginSnapshot(ctx, s.conn, s.aux, s.cat, env, s.log, s.slot, progress, s.snapshotFetch); err != nil {
			return err
		}
		p.Snap, p.Resume = progress, progress.Attempts[0].LSN
	}
	cmp := &keyComparer{conn: s.aux, cat: s.cat, info: map[tableName]*tableInfo{}}
	s.dec = &decoder{env: env, cat: s.cat, captured: captured, tombstones: cfg.Bool("tombstones.on.delete"),
		after: cmp.after, resume: pgoutput.LSN(p.Resume), skipTx: pgoutput.LSN(p.Tx), skipCt: p.N, snap: p.Snap}

	if err := s.startReplication(ctx, repl, pgoutput.LSN(p.Resume)); err != nil {
		return err
	}
	s.stream = startStream(repl, s.log, slot.confirmed, s.statusEvery)
	started = true
	s.lastHB = time.Now()
	s.log.Info("postgres source opened", "resume", pgoutput.LSN(p.Resume).String(), "tables", len(tables), "snapshot", s.snap != nil)
	return nil
}

// resolve lists the captured tables and their OIDs and ensures the
// publication.
func (s *Source) resolve(ctx context.Context, cfg sdk.Config) ([]tableName, map[uint32]bool, error) {
	tables, err := resolveTables(ctx, s.aux, s.conn.database, cfg.List("tables"), cfg.List("tables.exclude"))
	if err != nil {
		return nil, nil, err
	}
	if err := ensurePublication(ctx, s.aux, s.log, s.publication, tables, cfg.Bool("publication.autocreate")); err != nil {
		return nil, nil, err
	}
	captured := map[uint32]bool{}
	for _, t := range tables {
		rows, err := query(ctx, s.aux, "SELECT $1::regclass::oid", t.quoted())
		if err != nil {
			return nil, nil, fmt.Errorf("look up %s: %w", t, err)
		}
		var oid uint64
		if _, err := fmt.Sscan(string(rows[0][0]), &oid); err != nil {
			return nil, nil, fmt.Errorf("look up %s: %w", t, err)
		}
		captured[uint32(oid)] = true
	}
	return tables, captured, nil
}

// ensureSlot returns the slot's state, creating it when missing (unless a
// committed position says it existed: then changes may be lost).
func (s *Source) ensureSlot(ctx context.Context, repl *pgconn.PgConn, hadPosition bool) (slotState, error) {
	slot, err := readSlot(ctx, s.aux, s.slot)
	if err != nil {
		return slotState{}, err
	}
	if slot.exists {
		if slot.plugin != "pgoutput" || slot.database != s.conn.database {
			return slotState{}, fmt.Errorf("replication slot %s exists for plugin %q in database %q, not pgoutput in %q: choose another slot.name", s.slot, slot.plugin, slot.database, s.conn.database)
		}
		return slot, nil
	}
	if hadPosition {
		return slotState{}, fmt.Errorf("replication slot %s does not exist, but the connector has a committed position: the slot was dropped and the changes since are lost; to start over with a new snapshot, reset the connector's offsets", s.slot)
	}
	created, err := pgoutput.CreateSlot(ctx, repl, s.slot, pgoutput.SlotOptions{})
	if err != nil {
		return slotState{}, fmt.Errorf("create replication slot %s: %w (is max_replication_slots reached?)", s.slot, err)
	}
	s.log.Info("replication slot created", "lsn", created.ConsistentPoint.String())
	return slotState{exists: true, plugin: "pgoutput", database: s.conn.database, confirmed: created.ConsistentPoint}, nil
}

// startReplication starts streaming, waiting while the slot is still held
// by an earlier session.
func (s *Source) startReplication(ctx context.Context, repl *pgconn.PgConn, from pgoutput.LSN) error {
	deadline := time.Now().Add(slotBusyWait)
	for {
		err := pgoutput.StartReplication(ctx, repl, s.slot, from, pgoutput.PluginArgs(s.publication))
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || time.Now().After(deadline) {
			if err != nil && pgErr != nil && pgErr.Code == "55006" {
				return fmt.Errorf("slot %s is busy: another process streams from it (%w); stop it or choose another slot.name", s.slot, err)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start replication: %w (slot %s is busy)", ctx.Err(), s.slot)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Read returns snapshot rows until the snapshot is read, then changes.
func (s *Source) Read(ctx context.Context, max int) ([]sdk.Record, error) {
	if s.failed != nil {
		return nil, s.failed
	}
	recs, err := s.read(ctx, max)
	if err != nil {
		s.failed = fmt.Errorf("postgres source: %w (reopen to resume)", err)
		return nil, s.failed
	}
	return recs, nil
}

func (s *Source) read(ctx context.Context, max int) ([]sdk.Record, error) {
	if len(s.pending) == 0 && s.snap != nil {
		opCtx, cancel := context.WithTimeout(context.Background(), opTimeout)
		recs, done, err := s.snap.next(opCtx, max)
		cancel()
		if err != nil {
			return nil, err
		}
		if done {
			s.snap = nil
		}
		if len(recs) > 0 {
			return recs, nil
		}
	}
	if len(s.pending) == 0 {
		if err := s.fill(ctx, max); err != nil {
			return nil, err
		}
	}
	n := min(max, len(s.pending))
	out := make([]sdk.Record, n)
	copy(out, s.pending)
	s.pending = s.pending[n:]
	return out, nil
}

// fill decodes stream items into pending records: it waits for the first
// record until ctx ends (or a heartbeat is due), then takes what is
// already queued, up to max records.
func (s *Source) fill(ctx context.Context, max int) error {
	var hb <-chan time.Time
	if s.hbEvery > 0 {
		t := time.NewTimer(max0(s.hbEvery - time.Since(s.lastHB)))
		defer t.Stop()
		hb = t.C
	}
	dec := s.dec
	defer func() {
		s.pending = append(s.pending, dec.out...)
		dec.out = dec.out[:0]
	}()
	for len(dec.out) < max {
		if len(s.queued) == 0 {
			var items []streamItem
			var ok bool
			if len(dec.out) == 0 {
				select {
				case items, ok = <-s.stream.items:
				case <-ctx.Done():
					return nil
				case <-hb:
					hb = nil
					s.heartbeat()
					continue
				}
			} else {
				select {
				case items, ok = <-s.stream.items:
				default:
					return nil // nothing more queued: hand out what there is
				}
			}
			if !ok {
				return s.stream.err
			}
			s.queued = items
		}
		opCtx, cancel := context.WithTimeout(context.Background(), opTimeout)
		for len(s.queued) > 0 && len(dec.out) < max {
			it := s.queued[0]
			s.queued = s.queued[1:]
			if err := dec.handle(opCtx, it); err != nil {
				cancel()
				return err
			}
		}
		cancel()
	}
	return nil
}

// heartbeat queues a heartbeat record when one is due and useful.
func (s *Source) heartbeat() {
	now := time.Now()
	s.lastHB = now
	if rec, ok := s.dec.heartbeat(s.hbTopic, now); ok {
		s.dec.out = append(s.dec.out, rec)
	}
}

func max0(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}

// Commit confirms the newest committed position to PostgreSQL (at the
// next status update): the slot may then drop the WAL before it.
func (s *Source) Commit(_ context.Context, positions []sdk.Position) error {
	if len(positions) == 0 || s.stream == nil {
		return nil
	}
	p, err := decodePosition(positions[len(positions)-1])
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.stream.confirm(pgoutput.LSN(p.Resume))
	return nil
}

// Close stops streaming and closes the connections; an unfinished
// snapshot's transaction is rolled back with its connection.
func (s *Source) Close() error {
	var errs []error
	if s.stream != nil {
		errs = append(errs, s.stream.close())
	}
	if s.aux != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, s.aux.Close(ctx))
		cancel()
	}
	return errors.Join(errs...)
}
