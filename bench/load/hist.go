package load

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records latencies in nanoseconds in log-linear buckets, as
// HdrHistogram does: exact below 128 ns, then 128 sub-buckets per power of
// two, so any recorded value is reported within 0.8% of itself. Recording
// is a few instructions and no allocation, which keeps the client cheap at
// hundreds of thousands of replies per second. Not safe for concurrent use:
// each session owns one and they are merged at the end.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64
	min    int64
	max    int64
}

const (
	subBits     = 7
	subCount    = 1 << subBits
	maxExp      = 42 // 2^(42+7) ns is far beyond any latency measured here
	histBuckets = subCount + maxExp*subCount
)

func bucketOf(v int64) int {
	if v < subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - subBits - 1
	if e >= maxExp {
		return histBuckets - 1
	}
	m := int(v >> uint(e)) // in [subCount, 2*subCount)
	return subCount + e*subCount + (m - subCount)
}

// valueOf is the midpoint of bucket i.
func valueOf(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	e := (i - subCount) / subCount
	m := int64(i-subCount)%subCount + subCount
	lo := m << uint(e)
	return lo + (int64(1)<<uint(e))/2
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
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

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Merge adds o's values to h.
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

// Quantile returns the value at quantile q in [0, 1].
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := valueOf(i)
			// The bucket midpoint can lie outside what was seen.
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Latency summarises a histogram for the JSON output, in microseconds so
// the numbers read naturally.
type Latency struct {
	Count  uint64  `json:"count"`
	MeanUs float64 `json:"mean_us"`
	MinUs  float64 `json:"min_us"`
	P50Us  float64 `json:"p50_us"`
	P90Us  float64 `json:"p90_us"`
	P99Us  float64 `json:"p99_us"`
	P999Us float64 `json:"p999_us"`
	MaxUs  float64 `json:"max_us"`
}

func us(d time.Duration) float64 { return math.Round(float64(d)/1e1) / 1e2 }

// Summary returns the percentiles of h.
func (h *Histogram) Summary() Latency {
	if h.n == 0 {
		return Latency{}
	}
	return Latency{
		Count:  h.n,
		MeanUs: math.Round(h.sum/float64(h.n)/1e1) / 1e2,
		MinUs:  us(time.Duration(h.min)),
		P50Us:  us(h.Quantile(0.50)),
		P90Us:  us(h.Quantile(0.90)),
		P99Us:  us(h.Quantile(0.99)),
		P999Us: us(h.Quantile(0.999)),
		MaxUs:  us(time.Duration(h.max)),
	}
}
