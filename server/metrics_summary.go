package server

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// Latencies are whole milliseconds (as ZooKeeper measures them), so a
// summary counts them exactly below exactMs and in power-of-two buckets
// above, where a latency of a second or more is rare.
const (
	exactMs        = 1024
	overflowBucket = 64 - 10 // bits.Len64 of 1024 is 11, of MaxInt64 63
	ageBuckets     = 5       // the Prometheus client's default window:
	// 10 minutes in 5 buckets, rotated every 2 minutes (summaryRotation).
)

// latencySummary is ZooKeeper's readlatency/updatelatency summary as the
// Prometheus provider exports it: quantiles over a sliding window plus a
// cumulative count and sum. Observing is a few atomic adds and takes no
// lock, so the read path pays almost nothing; a nil summary ignores
// observations (no metrics provider).
type latencySummary struct {
	count, sum atomic.Int64
	cur        atomic.Int32 // the age bucket being filled
	ages       [ageBuckets]latencyCounts
	quantiles  []float64
}

type latencyCounts [exactMs + overflowBucket]atomic.Int64

func newLatencySummary(quantiles ...float64) *latencySummary {
	return &latencySummary{quantiles: quantiles}
}

func (l *latencySummary) observe(ms int64) {
	if l == nil {
		return
	}
	ms = max(ms, 0)
	l.count.Add(1)
	l.sum.Add(ms)
	l.ages[l.cur.Load()][bucketOf(ms)].Add(1)
}

func bucketOf(ms int64) int {
	if ms < exactMs {
		return int(ms)
	}
	return exactMs + bits.Len64(uint64(ms)) - 11
}

// bucketValue is the latency a bucket reports: exact below exactMs, the
// upper bound of the power-of-two range above (a conservative estimate).
func bucketValue(i int) float64 {
	if i < exactMs {
		return float64(i)
	}
	return float64(uint64(1)<<(i-exactMs+11) - 1)
}

// rotate drops the oldest age bucket and starts filling it again, so the
// quantiles cover the last 8 to 10 minutes.
func (l *latencySummary) rotate() {
	next := (l.cur.Load() + 1) % ageBuckets
	for i := range l.ages[next] {
		l.ages[next][i].Store(0)
	}
	l.cur.Store(next)
}

// quantile is the smallest latency at or above a q fraction of the
// window's observations; NaN without any, as Prometheus clients report.
func (l *latencySummary) quantile(q float64) float64 {
	var counts [exactMs + overflowBucket]int64
	var n int64
	for a := range l.ages {
		for i := range l.ages[a] {
			c := l.ages[a][i].Load()
			counts[i] += c
			n += c
		}
	}
	if n == 0 {
		return math.NaN()
	}
	rank := max(int64(math.Ceil(q*float64(n))), 1)
	var seen int64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return bucketValue(i)
		}
	}
	return bucketValue(len(counts) - 1)
}
