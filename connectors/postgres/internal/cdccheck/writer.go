package cdccheck

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Op is one change the Writer committed.
type Op struct {
	Seq  int64
	Kind byte // 'c', 'u' or 'd'
	ID   int
	// V is the row's v in the event: the op's Seq for c and u, the
	// deleted row's last v for d.
	V int64
}

// CreateTable creates table with rows rows (v = 0) in one statement.
func CreateTable(ctx context.Context, conn *pgconn.PgConn, table string, rows int) error {
	sql := fmt.Sprintf(`CREATE TABLE %[1]s (id int PRIMARY KEY, v bigint NOT NULL, payload text);
		ALTER TABLE %[1]s REPLICA IDENTITY FULL;
		INSERT INTO %[1]s SELECT i, 0, md5(i::text) FROM generate_series(1, %[2]d) i`, table, rows)
	_, err := conn.Exec(ctx, sql).ReadAll()
	return err
}

// Writer changes a table made by CreateTable at random until stopped. It is
// the table's only writer, so it knows every row's v.
type Writer struct {
	conn  *pgconn.PgConn
	table string
	rng   *rand.Rand
	pause time.Duration

	mu   sync.Mutex
	seq  int64
	rows map[int]int64 // live rows: id → v
	next int           // the next id to insert
	log  []Op

	stop chan struct{}
	done chan struct{}
	err  error
}

// StartWriter starts changing table (made with rows rows) on conn, which
// it uses until Stop. Each transaction makes 1 to 4 changes, then the
// writer pauses for pause.
func StartWriter(conn *pgconn.PgConn, table string, rows int, seed uint64, pause time.Duration) *Writer {
	w := &Writer{conn: conn, table: table, rng: rand.New(rand.NewPCG(seed, 7)), pause: pause,
		rows: make(map[int]int64, rows), next: rows + 1, stop: make(chan struct{}), done: make(chan struct{})}
	for id := 1; id <= rows; id++ {
		w.rows[id] = 0
	}
	go w.run()
	return w
}

func (w *Writer) run() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		if err := w.transaction(); err != nil {
			w.err = err
			return
		}
		if w.pause > 0 {
			select {
			case <-w.stop:
				return
			case <-time.After(w.pause):
			}
		}
	}
}

// transaction commits 1 to 4 random changes and logs them.
func (w *Writer) transaction() error {
	w.mu.Lock()
	n := 1 + w.rng.IntN(4)
	var stmts []string
	var ops []Op
	seq := w.seq
	rows := make(map[int]int64, n) // this transaction's view
	live := func(id int) (int64, bool) {
		if v, ok := rows[id]; ok {
			return v, v >= 0
		}
		v, ok := w.rows[id]
		return v, ok
	}
	for i := 0; i < n; i++ {
		seq++
		id := 1 + w.rng.IntN(w.next-1)
		v, exists := live(id)
		switch k := w.rng.IntN(10); {
		case k < 3 || !exists && k < 8: // insert a new row
			id = w.next
			w.next++
			stmts = append(stmts, fmt.Sprintf("INSERT INTO %s VALUES (%d, %d, 'p%d')", w.table, id, seq, seq))
			ops = append(ops, Op{Seq: seq, Kind: 'c', ID: id, V: seq})
			rows[id] = seq
		case exists && k < 8:
			stmts = append(stmts, fmt.Sprintf("UPDATE %s SET v = %d, payload = 'p%d' WHERE id = %d", w.table, seq, seq, id))
			ops = append(ops, Op{Seq: seq, Kind: 'u', ID: id, V: seq})
			rows[id] = seq
		case exists:
			stmts = append(stmts, fmt.Sprintf("DELETE FROM %s WHERE id = %d", w.table, id))
			ops = append(ops, Op{Seq: seq, Kind: 'd', ID: id, V: v})
			rows[id] = -1
		default:
			seq-- // nothing to do for a deleted row
		}
	}
	w.mu.Unlock()
	if len(stmts) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := w.conn.Exec(ctx, "BEGIN; "+strings.Join(stmts, "; ")+"; COMMIT").ReadAll(); err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq = seq
	for id, v := range rows {
		if v < 0 {
			delete(w.rows, id)
		} else {
			w.rows[id] = v
		}
	}
	w.log = append(w.log, ops...)
	return nil
}

// Seq returns the sequence number of the last committed change: changes
// started after this call have larger ones.
func (w *Writer) Seq() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq
}

// Stop stops the writer, waits for it and returns its error.
func (w *Writer) Stop() error {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.err
}

// Ops returns the changes committed so far.
func (w *Writer) Ops() []Op {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Op(nil), w.log...)
}
