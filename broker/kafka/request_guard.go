package kafka

import (
	"errors"
	"fmt"
)

// Why this file exists: kmsg's decoders read a tagged-field count and then loop
// that many times without stopping when the input runs out. A flexible request
// whose body ends in a huge tag count (an 8-byte body will do) keeps a core busy
// for about a minute inside ReadFrom. Before a flexible body reaches kmsg, it is
// walked here against the shape of its request, and rejected (the connection is
// closed, as for any malformed request) when a tagged-field section claims more
// fields than bytes remain, or the structure runs past the end.
//
// The shapes list, per served API, the fields of its flexible versions in wire
// order. TestRequestShapesMatchKmsg encodes randomly filled requests of every
// served API and flexible version with kmsg and checks each is accepted, and
// TestEveryFlexibleAPIHasShape keeps the table complete.

// errTagBounds is the guard's verdict on a body it cannot walk.
var errTagBounds = errors.New("tagged fields run past the end of the request")

// fieldKind is how a field is laid out in a flexible version.
type fieldKind uint8

const (
	kInt8    fieldKind = iota + 1 // int8, bool
	kInt16                        // int16
	kInt32                        // int32
	kInt64                        // int64
	kUUID                         // 16 bytes
	kString                       // compact (nullable) string: uvarint length+1, then bytes
	kBytes                        // compact (nullable) bytes: same layout as kString
	kStrings                      // compact (nullable) array of compact strings
	kInt32s                       // compact (nullable) array of int32
	kInt64s                       // compact (nullable) array of int64
	kStructs                      // compact (nullable) array of elem, each ending in tagged fields
)

// field is one field of a request shape, present in versions [from, to]
// (to < 0: no upper bound).
type field struct {
	kind     fieldKind
	from, to int16
	elem     *shape
}

// shape is a struct's layout: its fields, then its tagged fields. tagged lists
// the known tags whose value is itself a struct ending in tagged fields; other
// tags are skipped by their size.
type shape struct {
	fields []field
	tagged map[uint32]*shape
}

func fld(k fieldKind) field            { return field{kind: k, to: -1} }
func structs(elem *shape) field        { return field{kind: kStructs, to: -1, elem: elem} }
func (f field) since(v int16) field    { f.from = v; return f }
func (f field) until(v int16) field    { f.to = v; return f }
func (f field) has(version int16) bool { return version >= f.from && (f.to < 0 || version <= f.to) }
func shp(fields ...field) *shape       { return &shape{fields: fields} }
func (s *shape) tag(k uint32, t *shape) *shape {
	if s.tagged == nil {
		s.tagged = map[uint32]*shape{}
	}
	s.tagged[k] = t
	return s
}

// requestShapes are the flexible layouts of every served request, by API key.
// Field lists follow the Kafka protocol definitions (as kmsg encodes them).
var requestShapes = map[int16]*shape{
	// Produce.
	0: shp(fld(kString), fld(kInt16), fld(kInt32), structs(shp(
		fld(kString).until(12), fld(kUUID).since(13),
		structs(shp(fld(kInt32), fld(kBytes))),
	))),
	// Fetch: tag 1 of the request is ReplicaState {ID int32, Epoch int64, tags}.
	1: shp(
		fld(kInt32).until(14), fld(kInt32), fld(kInt32), fld(kInt32), fld(kInt8), fld(kInt32), fld(kInt32),
		structs(shp(
			fld(kString).until(12), fld(kUUID).since(13),
			structs(shp(fld(kInt32), fld(kInt32), fld(kInt64), fld(kInt32), fld(kInt64), fld(kInt32))),
		)),
		structs(shp(fld(kString).until(12), fld(kUUID).since(13), fld(kInt32s))),
		fld(kString),
	).tag(1, shp(fld(kInt32), fld(kInt64))),
	// ListOffsets.
	2: shp(fld(kInt32), fld(kInt8), structs(shp(
		fld(kString),
		structs(shp(fld(kInt32), fld(kInt32), fld(kInt64))),
	)), fld(kInt32).since(10)),
	// Metadata.
	3: shp(structs(shp(fld(kUUID).since(10), fld(kString))), fld(kInt8), fld(kInt8).until(10), fld(kInt8)),
	// OffsetCommit.
	8: shp(fld(kString), fld(kInt32), fld(kString), fld(kString).since(7), fld(kInt64).until(4), structs(shp(
		fld(kString).until(9), fld(kUUID).since(10),
		structs(shp(fld(kInt32), fld(kInt64), fld(kInt32).since(6), fld(kString))),
	))),
	// OffsetFetch.
	9: shp(
		fld(kString).until(7),
		structs(shp(fld(kString), fld(kInt32s))).until(7),
		structs(shp(
			fld(kString), fld(kString).since(9), fld(kInt32).since(9),
			structs(shp(fld(kString).until(9), fld(kUUID).since(10), fld(kInt32s))),
		)).since(8),
		fld(kInt8).since(7),
	),
	// FindCoordinator.
	10: shp(fld(kString).until(3), fld(kInt8), fld(kStrings).since(4)),
	// JoinGroup.
	11: shp(fld(kString), fld(kInt32), fld(kInt32), fld(kString), fld(kString), fld(kString),
		structs(shp(fld(kString), fld(kBytes))), fld(kString).since(8)),
	// Heartbeat.
	12: shp(fld(kString), fld(kInt32), fld(kString), fld(kString)),
	// LeaveGroup.
	13: shp(fld(kString), structs(shp(fld(kString), fld(kString), fld(kString).since(5)))),
	// SyncGroup.
	14: shp(fld(kString), fld(kInt32), fld(kString), fld(kString), fld(kString).since(5), fld(kString).since(5),
		structs(shp(fld(kString), fld(kBytes)))),
	// DescribeGroups.
	15: shp(fld(kStrings), fld(kInt8)),
	// ListGroups.
	16: shp(fld(kStrings).since(4), fld(kStrings).since(5)),
	// ApiVersions.
	18: shp(fld(kString), fld(kString), fld(kString).since(5), fld(kInt32).since(5)),
	// CreateTopics.
	19: shp(structs(shp(
		fld(kString), fld(kInt32), fld(kInt16),
		structs(shp(fld(kInt32), fld(kInt32s))),
		structs(shp(fld(kString), fld(kString))),
	)), fld(kInt32), fld(kInt8)),
	// DeleteTopics.
	20: shp(fld(kStrings).until(5), structs(shp(fld(kString), fld(kUUID))).since(6), fld(kInt32)),
	// DeleteRecords.
	21: shp(structs(shp(fld(kString), structs(shp(fld(kInt32), fld(kInt64))))), fld(kInt32)),
	// DescribeConfigs.
	32: shp(structs(shp(fld(kInt8), fld(kString), fld(kStrings))), fld(kInt8), fld(kInt8)),
	// AlterConfigs.
	33: shp(structs(shp(fld(kInt8), fld(kString), structs(shp(fld(kString), fld(kString))))), fld(kInt8)),
	// DescribeLogDirs.
	35: shp(structs(shp(fld(kString), fld(kInt32s)))),
	// CreatePartitions.
	37: shp(structs(shp(fld(kString), fld(kInt32), structs(shp(fld(kInt32s))))), fld(kInt32), fld(kInt8)),
	// IncrementalAlterConfigs.
	44: shp(structs(shp(fld(kInt8), fld(kString), structs(shp(fld(kString), fld(kInt8), fld(kString))))), fld(kInt8)),
	// DeleteGroups.
	42: shp(fld(kStrings)),
	// ElectLeaders (v2 is the flexible one): election type, topics (name,
	// partitions), timeout.
	43: shp(fld(kInt8), structs(shp(fld(kString), fld(kInt32s))), fld(kInt32)),
	// AlterPartitionReassignments: timeout, (v1+) allow RF change, topics
	// (name, partitions (id, nullable replicas)).
	45: shp(fld(kInt32), fld(kInt8).since(1), structs(shp(fld(kString), structs(shp(fld(kInt32), fld(kInt32s)))))),
	// ListPartitionReassignments: timeout, nullable topics (name, partitions).
	46: shp(fld(kInt32), structs(shp(fld(kString), fld(kInt32s)))),
	// DescribeCluster.
	60: shp(fld(kInt8), fld(kInt8).since(1), fld(kInt8).since(2)),
	// InitProducerId.
	22: shp(fld(kString), fld(kInt32), fld(kInt64).since(3), fld(kInt16).since(3)),
	// OffsetForLeaderEpoch (v4 is the flexible one).
	23: shp(fld(kInt32), structs(shp(fld(kString), structs(shp(fld(kInt32), fld(kInt32), fld(kInt32)))))),
	// AddPartitionsToTxn (the client form, v3; v4+ is not served).
	24: shp(fld(kString), fld(kInt64), fld(kInt16), structs(shp(fld(kString), fld(kInt32s)))),
	// AddOffsetsToTxn.
	25: shp(fld(kString), fld(kInt64), fld(kInt16), fld(kString)),
	// EndTxn.
	26: shp(fld(kString), fld(kInt64), fld(kInt16), fld(kInt8)),
	// WriteTxnMarkers: markers (producer id, epoch, committed, topics (name,
	// partitions), coordinator epoch, (v2+) transaction version).
	27: shp(structs(shp(fld(kInt64), fld(kInt16), fld(kInt8), structs(shp(fld(kString), fld(kInt32s))),
		fld(kInt32), fld(kInt8).since(2)))),
	// TxnOffsetCommit.
	28: shp(fld(kString), fld(kString), fld(kInt64), fld(kInt16), fld(kInt32), fld(kString), fld(kString),
		structs(shp(fld(kString).until(5), fld(kUUID).since(6),
			structs(shp(fld(kInt32), fld(kInt64), fld(kInt32), fld(kString)))))),
	// DescribeProducers.
	61: shp(structs(shp(fld(kString), fld(kInt32s)))),
	// DescribeTransactions.
	65: shp(fld(kStrings)),
	// ListTransactions.
	66: shp(fld(kStrings), fld(kInt64s), fld(kInt64).since(1), fld(kString).since(2)),
	// SaslAuthenticate.
	36: shp(fld(kBytes)),
	// DescribeAcls: a filter (resource type, name, pattern type, principal,
	// host, operation, permission).
	29: shp(fld(kInt8), fld(kString), fld(kInt8), fld(kString), fld(kString), fld(kInt8), fld(kInt8)),
	// CreateAcls: creations of the same shape.
	30: shp(structs(shp(fld(kInt8), fld(kString), fld(kInt8), fld(kString), fld(kString), fld(kInt8), fld(kInt8)))),
	// DeleteAcls: filters of the same shape.
	31: shp(structs(shp(fld(kInt8), fld(kString), fld(kInt8), fld(kString), fld(kString), fld(kInt8), fld(kInt8)))),
	// DescribeUserScramCredentials: users by name.
	50: shp(structs(shp(fld(kString)))),
	// AlterUserScramCredentials: deletions (name, mechanism), upsertions
	// (name, mechanism, iterations, salt, salted password).
	51: shp(structs(shp(fld(kString), fld(kInt8))), structs(shp(fld(kString), fld(kInt8), fld(kInt32), fld(kBytes), fld(kBytes)))),
}

// checkRequestShape walks a flexible request body. It returns nil when every
// tagged-field section fits in the bytes that follow it, or when the API has no
// shape (the table test keeps that from happening for served APIs).
func checkRequestShape(key, version int16, body []byte) error {
	s, ok := requestShapes[key]
	if !ok {
		return nil
	}
	w := shapeWalker{b: body, version: version}
	if err := w.walk(s); err != nil {
		return fmt.Errorf("%w: %v", errTagBounds, err)
	}
	return nil
}

// skipTaggedFields skips one tagged-field section at the start of b (a request
// header's) and returns the rest.
func skipTaggedFields(b []byte) ([]byte, error) {
	w := shapeWalker{b: b}
	if err := w.tags(nil); err != nil {
		return nil, fmt.Errorf("%w: %v", errTagBounds, err)
	}
	return w.b, nil
}

// shapeWalker consumes b according to shapes, checking every length against
// what remains; it never allocates.
type shapeWalker struct {
	b       []byte
	version int16
}

var errShort = errors.New("field runs past the end")

func (w *shapeWalker) skip(n uint64) error {
	if n > uint64(len(w.b)) {
		return errShort
	}
	w.b = w.b[n:]
	return nil
}

// uvarint reads an unsigned varint of at most 5 bytes (a uint32), as kmsg does.
func (w *shapeWalker) uvarint() (uint64, error) {
	var x uint64
	for i := 0; i < 5; i++ {
		if i >= len(w.b) {
			return 0, errShort
		}
		c := w.b[i]
		x |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			w.b = w.b[i+1:]
			return x & 0xffffffff, nil
		}
	}
	return 0, errors.New("varint longer than 5 bytes")
}

// compactLen reads a compact length (uvarint n+1; 0 means null) and returns n.
func (w *shapeWalker) compactLen() (uint64, error) {
	n, err := w.uvarint()
	if err != nil || n == 0 {
		return 0, err
	}
	return n - 1, nil
}

func (w *shapeWalker) walk(s *shape) error {
	for _, f := range s.fields {
		if !f.has(w.version) {
			continue
		}
		if err := w.field(f); err != nil {
			return err
		}
	}
	return w.tags(s.tagged)
}

func (w *shapeWalker) field(f field) error {
	switch f.kind {
	case kInt8:
		return w.skip(1)
	case kInt16:
		return w.skip(2)
	case kInt32:
		return w.skip(4)
	case kInt64:
		return w.skip(8)
	case kUUID:
		return w.skip(16)
	case kString, kBytes:
		n, err := w.compactLen()
		if err != nil {
			return err
		}
		return w.skip(n)
	case kInt32s:
		n, err := w.compactLen()
		if err != nil {
			return err
		}
		return w.skip(4 * n)
	case kInt64s:
		n, err := w.compactLen()
		if err != nil {
			return err
		}
		return w.skip(8 * n)
	case kStrings, kStructs:
		n, err := w.compactLen()
		if err != nil {
			return err
		}
		// Every element takes at least one byte, so this bounds the loop.
		if n > uint64(len(w.b)) {
			return errShort
		}
		for range n {
			var err error
			if f.kind == kStrings {
				err = w.field(fld(kString))
			} else {
				err = w.walk(f.elem)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown field kind %d", f.kind)
}

// tags walks one tagged-field section: a count, then per field its tag, size and
// value. Known struct-valued tags are walked in turn.
func (w *shapeWalker) tags(known map[uint32]*shape) error {
	n, err := w.uvarint()
	if err != nil {
		return err
	}
	// Each tagged field takes at least two bytes (tag and size).
	if n > uint64(len(w.b))/2 {
		return fmt.Errorf("%d tagged fields in %d bytes", n, len(w.b))
	}
	for range n {
		tag, err := w.uvarint()
		if err != nil {
			return err
		}
		size, err := w.uvarint()
		if err != nil {
			return err
		}
		if size > uint64(len(w.b)) {
			return errShort
		}
		value := w.b[:size]
		w.b = w.b[size:]
		if s, ok := known[uint32(tag)]; ok {
			sub := shapeWalker{b: value, version: w.version}
			if err := sub.walk(s); err != nil {
				return fmt.Errorf("tag %d: %w", tag, err)
			}
		}
	}
	return nil
}
