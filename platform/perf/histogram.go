package perf

import (
	"math"
	"math/bits"
	"time"
)

// Histogram bucket layout: values below subBuckets are exact; above, each
// power of two is split into subBuckets/2 linear buckets, so a bucket's width
// is at most 1/64 of its value (about 1.6% relative error) over the whole
// int64 range, in a fixed 30 KiB array.
const (
	subBits    = 7
	subBuckets = 1 << subBits // 128
	halfSub    = subBuckets / 2
	numBuckets = subBuckets + (63-subBits)*halfSub // values reach 2^63-1
)

// Histogram records durations with bounded relative error and constant memory,
// in the spirit of HdrHistogram. Its zero value is ready to use. It is not safe
// for concurrent use: give each recording goroutine its own and Merge them.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    float64 // nanoseconds, for the mean
	min    int64
	max    int64
}

// bucketOf returns the bucket index of v (v >= 0).
func bucketOf(v int64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits // >= 1
	top := v >> shift                        // in [halfSub, subBuckets)
	return subBuckets + (shift-1)*halfSub + int(top-halfSub)
}

// bucketHigh returns the largest value that falls into bucket i.
func bucketHigh(i int) int64 {
	if i < subBuckets {
		return int64(i)
	}
	shift := (i-subBuckets)/halfSub + 1
	top := int64((i-subBuckets)%halfSub + halfSub)
	hi := (top+1)<<shift - 1
	if hi < 0 { // the last bucket reaches past MaxInt64
		return math.MaxInt64
	}
	return hi
}

// Record adds one duration; negative durations (clock steps) count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count returns how many values were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest value recorded (exact), or 0.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the mean of the values recorded (exact), or 0.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the value below or at which a fraction q (0..1) of the
// recorded values fall: the upper edge of the bucket holding the value of rank
// ceil(q*n), capped by the exact maximum. It returns 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	rank = min(rank, h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max))
		}
	}
	return time.Duration(h.max)
}
