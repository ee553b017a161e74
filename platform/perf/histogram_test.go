package perf

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketLayout(t *testing.T) {
	// Every value falls in a bucket whose high edge is at least the value and
	// within 1/64 of it, and buckets are monotone.
	values := []int64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 123456789, math.MaxInt64 / 3, math.MaxInt64}
	prev := -1
	for _, v := range values {
		i := bucketOf(v)
		if i < prev || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d after %d (of %d)", v, i, prev, numBuckets)
		}
		prev = i
		hi := bucketHigh(i)
		if hi < v {
			t.Errorf("bucketHigh(bucketOf(%d)) = %d, below the value", v, hi)
		}
		if v >= subBuckets && float64(hi-v) > float64(v)/64+1 {
			t.Errorf("bucket of %d reaches %d: more than 1/64 above", v, hi)
		}
		if v < subBuckets && hi != v {
			t.Errorf("small value %d not exact: bucket high %d", v, hi)
		}
	}
	for i := 1; i < numBuckets; i++ {
		if bucketHigh(i) <= bucketHigh(i-1) || bucketOf(bucketHigh(i)) != i {
			t.Fatalf("bucket %d: high %d after %d, maps back to %d", i, bucketHigh(i), bucketHigh(i-1), bucketOf(bucketHigh(i)))
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	cases := []struct {
		name   string
		values func(r *rand.Rand) []time.Duration
	}{
		{"uniform 1..1000 exact", func(*rand.Rand) []time.Duration {
			var v []time.Duration
			for i := 1; i <= 100; i++ {
				v = append(v, time.Duration(i))
			}
			return v
		}},
		{"exponential ms", func(r *rand.Rand) []time.Duration {
			v := make([]time.Duration, 20000)
			for i := range v {
				v[i] = time.Duration(r.ExpFloat64() * float64(time.Millisecond))
			}
			return v
		}},
		{"bimodal with outliers", func(r *rand.Rand) []time.Duration {
			v := make([]time.Duration, 10000)
			for i := range v {
				v[i] = 200*time.Microsecond + time.Duration(r.IntN(100000))
				if i%1000 == 0 {
					v[i] = 3*time.Second + time.Duration(r.IntN(1e9))
				}
			}
			return v
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vals := c.values(rand.New(rand.NewPCG(1, 2)))
			var h Histogram
			for _, v := range vals {
				h.Record(v)
			}
			sorted := slices.Clone(vals)
			slices.Sort(sorted)
			if h.Count() != uint64(len(vals)) || h.Max() != sorted[len(sorted)-1] {
				t.Fatalf("count %d max %v, want %d and %v", h.Count(), h.Max(), len(vals), sorted[len(sorted)-1])
			}
			for _, q := range []float64{0, 0.5, 0.95, 0.99, 0.999, 1} {
				rank := max(1, int(math.Ceil(q*float64(len(sorted)))))
				exact := sorted[rank-1]
				got := h.Quantile(q)
				// The answer is the bucket's top: never below the exact value,
				// and at most 1/64 above it.
				if got < exact || float64(got-exact) > float64(exact)/64+1 {
					t.Errorf("q%.3f = %v, exact %v", q, got, exact)
				}
			}
			var sum float64
			for _, v := range vals {
				sum += float64(v)
			}
			if want := time.Duration(sum / float64(len(vals))); h.Mean() != want {
				t.Errorf("mean %v, want %v", h.Mean(), want)
			}
		})
	}
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	var empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Max() != 0 || empty.Mean() != 0 || Summarize(&empty) != nil {
		t.Fatal("an empty histogram must report zeros and no summary")
	}
	var a, b, all Histogram
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	a.Merge(&empty)
	for _, q := range []float64{0.1, 0.5, 0.99, 0.999} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged q%v = %v, want %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
	if a.Count() != all.Count() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Errorf("merged count/max/mean %d/%v/%v, want %d/%v/%v", a.Count(), a.Max(), a.Mean(), all.Count(), all.Max(), all.Mean())
	}
	var neg Histogram
	neg.Record(-time.Second)
	if neg.Quantile(1) != 0 || neg.Count() != 1 {
		t.Errorf("negative duration: q1 %v count %d, want 0 and 1", neg.Quantile(1), neg.Count())
	}
}
