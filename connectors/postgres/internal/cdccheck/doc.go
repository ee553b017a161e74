// Package cdccheck drives and checks change data capture tests: a Writer
// makes random inserts, updates and deletes on a table while the source
// runs and logs each change it committed; a Checker replays the events
// the host committed, failing on a duplicate, a reordering or an invented
// event, and finally compares the replayed table with SELECT and the
// events with the Writer's log.
//
// The table is (id int PRIMARY KEY, v bigint, payload text) with REPLICA
// IDENTITY FULL, so every event carries v: the sequence number of the
// change that wrote the row, which identifies events.
//
// cdccheck imports pgtest, sdk and pgx's pgconn.
package cdccheck
