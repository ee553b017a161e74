package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// maxPooledBuffer is the largest scratch buffer kept for reuse; rarer, larger
// batches get a buffer that is left to the garbage collector afterwards.
const maxPooledBuffer = 8 << 20

// xerialMagic starts the snappy framing of snappy-java (the Java client): the
// magic, then int32 version and int32 min-compatible version, then blocks each
// prefixed with a big-endian int32 length.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// xerialHeaderSize is the magic plus the two int32 version fields.
const xerialHeaderSize = 16

// String returns Kafka's name for the codec.
func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Snappy:
		return "snappy"
	case LZ4:
		return "lz4"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("compression(%d)", int8(c))
}

// valid reports whether c is a codec Kafka defines.
func (c Compression) valid() bool { return c >= None && c <= Zstd }

// Codec state is expensive to build (zstd and flate allocate large tables), so
// every encoder and decoder is pooled. The pools hold no data between uses; they
// are caches, created lazily by their New functions.
var (
	gzipDecoders = sync.Pool{New: func() any { return new(gzipDecoder) }}
	lz4Decoders  = sync.Pool{New: func() any { return &lz4Decoder{r: lz4.NewReader(nil)} }}
	zstdDecoders = sync.Pool{New: func() any { return newZstdDecoder() }}
	gzipEncoders = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	lz4Encoders  = sync.Pool{New: func() any { return newLZ4Encoder() }}
	zstdEncoders = sync.Pool{New: func() any { return newZstdEncoder() }}
	scratchBufs  = sync.Pool{New: func() any { return new([]byte) }}
)

// gzipDecoder keeps the source reader beside the gzip reader so a decode needs no
// allocation. The zero gzip.Reader is made usable by Reset.
type gzipDecoder struct {
	src bytes.Reader
	r   gzip.Reader
}

// lz4Decoder pairs a reusable LZ4 frame reader with its source.
type lz4Decoder struct {
	src bytes.Reader
	r   *lz4.Reader
}

// newZstdDecoder returns a decoder for DecodeAll only. Concurrency 1 means it
// starts no goroutines, so an instance dropped by the pool leaks nothing, and the
// memory limit turns a zstd bomb into an error.
func newZstdDecoder() *zstd.Decoder {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(MaxDecompressedSize))
	if err != nil {
		// Only invalid options fail, and these are constants.
		panic(fmt.Sprintf("record: zstd decoder options: %v", err))
	}
	return d
}

// newLZ4Encoder returns an LZ4 frame writer with 64 KiB blocks, the block size
// the Java client uses; the library default (4 MiB) would allocate a 4 MiB buffer
// even for a tiny batch.
func newLZ4Encoder() *lz4.Writer {
	w := lz4.NewWriter(nil)
	if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb)); err != nil {
		panic(fmt.Sprintf("record: lz4 encoder options: %v", err))
	}
	return w
}

// newZstdEncoder returns an encoder for EncodeAll only (no goroutines).
func newZstdEncoder() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
	if err != nil {
		panic(fmt.Sprintf("record: zstd encoder options: %v", err))
	}
	return e
}

// getScratch returns a pooled buffer of length 0.
func getScratch() *[]byte {
	p := scratchBufs.Get().(*[]byte)
	*p = (*p)[:0]
	return p
}

// putScratch returns a buffer to the pool unless it grew too large to keep.
func putScratch(p *[]byte) {
	if cap(*p) > maxPooledBuffer {
		*p = nil
	}
	scratchBufs.Put(p)
}

// errTooLarge reports a batch beyond MaxDecompressedSize.
func errTooLarge(c Compression) error {
	return fmt.Errorf("%s records inflate beyond %d bytes: %w", c, MaxDecompressedSize, ErrInvalidRecord)
}

// decompress appends the decompressed form of src to dst.
func decompress(dst []byte, c Compression, src []byte) ([]byte, error) {
	var err error
	switch c {
	case Gzip:
		d := gzipDecoders.Get().(*gzipDecoder)
		d.src.Reset(src)
		if err = d.r.Reset(&d.src); err == nil {
			dst, err = readAllLimited(dst, &d.r, c)
		}
		d.src.Reset(nil)
		gzipDecoders.Put(d)
	case LZ4:
		d := lz4Decoders.Get().(*lz4Decoder)
		d.src.Reset(src)
		d.r.Reset(&d.src)
		dst, err = readAllLimited(dst, d.r, c)
		d.src.Reset(nil)
		d.r.Reset(nil)
		lz4Decoders.Put(d)
	case Zstd:
		d := zstdDecoders.Get().(*zstd.Decoder)
		dst, err = d.DecodeAll(src, dst)
		zstdDecoders.Put(d)
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) {
			return dst, errTooLarge(c)
		}
	case Snappy:
		return unsnappy(dst, src)
	default:
		return dst, fmt.Errorf("unknown compression codec %d: %w", int8(c), ErrInvalidRecord)
	}
	if err != nil {
		if errors.Is(err, ErrInvalidRecord) {
			return dst, err
		}
		return dst, fmt.Errorf("decompress %s: %w: %w", c, ErrCorrupt, err)
	}
	return dst, nil
}

// readAllLimited appends everything r yields to dst, failing once the output
// passes MaxDecompressedSize. It never grows dst beyond the limit plus one byte.
func readAllLimited(dst []byte, r io.Reader, c Compression) ([]byte, error) {
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			room := min(max(cap(dst)-start, 4096), MaxDecompressedSize+1-(len(dst)-start))
			dst = slices.Grow(dst, room)
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > MaxDecompressedSize {
			return dst, errTooLarge(c)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// unsnappy decodes both snappy framings found in Kafka batches: one raw snappy
// block (franz-go, librdkafka, sarama) or the xerial framing (the Java client).
func unsnappy(dst, src []byte) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		return snappyBlock(dst, src)
	}
	if len(src) < xerialHeaderSize {
		return dst, fmt.Errorf("xerial snappy header of %d bytes: %w", len(src), ErrCorrupt)
	}
	rest := src[xerialHeaderSize:]
	for len(rest) > 0 {
		if len(rest) < 4 {
			return dst, fmt.Errorf("xerial snappy: %d stray bytes: %w", len(rest), ErrCorrupt)
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(n) > uint64(len(rest)) {
			return dst, fmt.Errorf("xerial snappy block of %d bytes, %d left: %w", n, len(rest), ErrCorrupt)
		}
		var err error
		if dst, err = snappyBlock(dst, rest[:n]); err != nil {
			return dst, err
		}
		rest = rest[n:]
	}
	return dst, nil
}

// snappyBlock appends the decoding of one raw snappy block to dst. The declared
// length is checked before any allocation.
func snappyBlock(dst, block []byte) ([]byte, error) {
	n, err := s2.DecodedLen(block)
	if err != nil {
		return dst, fmt.Errorf("decompress snappy: %w: %w", ErrCorrupt, err)
	}
	if n > MaxDecompressedSize-len(dst) {
		return dst, errTooLarge(Snappy)
	}
	at := len(dst)
	dst = slices.Grow(dst, n)[:at+n]
	if _, err := s2.Decode(dst[at:], block); err != nil {
		return dst[:at], fmt.Errorf("decompress snappy: %w: %w", ErrCorrupt, err)
	}
	return dst, nil
}

// sliceWriter is an io.Writer appending to a byte slice, for the stream encoders.
type sliceWriter struct{ b []byte }

// Write appends p.
func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// compress appends src compressed with c to dst. Snappy is written as one raw
// block, the framing every client decodes.
func compress(dst []byte, c Compression, src []byte) ([]byte, error) {
	switch c {
	case Gzip:
		zw := gzipEncoders.Get().(*gzip.Writer)
		defer gzipEncoders.Put(zw)
		w := sliceWriter{b: dst}
		zw.Reset(&w)
		if _, err := zw.Write(src); err != nil {
			return dst, fmt.Errorf("gzip records: %w", err)
		}
		if err := zw.Close(); err != nil {
			return dst, fmt.Errorf("gzip records: %w", err)
		}
		zw.Reset(nil)
		return w.b, nil
	case LZ4:
		zw := lz4Encoders.Get().(*lz4.Writer)
		defer lz4Encoders.Put(zw)
		w := sliceWriter{b: dst}
		zw.Reset(&w)
		if _, err := zw.Write(src); err != nil {
			return dst, fmt.Errorf("lz4 records: %w", err)
		}
		if err := zw.Close(); err != nil {
			return dst, fmt.Errorf("lz4 records: %w", err)
		}
		zw.Reset(nil)
		return w.b, nil
	case Zstd:
		e := zstdEncoders.Get().(*zstd.Encoder)
		defer zstdEncoders.Put(e)
		return e.EncodeAll(src, dst), nil
	case Snappy:
		at := len(dst)
		dst = slices.Grow(dst, s2.MaxEncodedLen(len(src)))
		block := s2.EncodeSnappy(dst[at:cap(dst)], src)
		return dst[:at+len(block)], nil
	case None:
		return append(dst, src...), nil
	}
	return dst, fmt.Errorf("unknown compression codec %d: %w", int8(c), ErrInvalidRecord)
}
