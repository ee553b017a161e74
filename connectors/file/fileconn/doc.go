// Package fileconn is the file connector, built only on sdk: a source that
// tails files and a sink that appends records to rolling files.
//
// # Source
//
// The source polls the files matching its globs (filepath.Match syntax, no
// "**") and emits one record per line, or per multiline event when
// multiline.pattern is set (a line matching it starts an event; other lines
// join the current one). Every record carries the headers file.path,
// file.offset (byte offset of its first line) and file.line (1-based number
// of its first line).
//
// A file is identified by a fingerprint of its head (a hash of its first
// fingerprint.bytes bytes, or of all of it while it is shorter), not by its
// name. So:
//   - rotation by rename: the renamed file is still the same file; reading
//     continues where it was, and a new file at the old name starts at 0;
//     a file renamed out of the globs or deleted is read to its end first;
//   - rotation by truncation (copytruncate): a file shorter than what was
//     read, or whose head no longer matches, is read again from 0;
//   - a copy of a file already tracked (same head) is ignored.
//
// Files whose first fingerprint.bytes bytes are equal are taken for the same
// file; raise fingerprint.bytes when files start with a long common header.
//
// The position after each record encodes (fingerprint, offset, line) of
// every tracked file, so reopening at it resumes every file exactly after
// what was emitted, even if files were renamed in between. A pending
// multiline event is not part of the position: after a restart it is read
// again. Positions grow with the number of files tailed (about 20 bytes
// each).
//
// The source never runs goroutines: Read scans and reads within the call.
//
// # Sink
//
// The sink appends each record (its value, or a JSON object with
// format=json) as one line to <dir>/<prefix>-<UTC time>-<seq>.log, rolling
// to a new file by size and by age. Flush writes the buffer and fsyncs.
// Each Open starts a new file, so a process killed mid-write leaves at most
// an incomplete last line in the file it was writing, and never appends to
// it again.
package fileconn
