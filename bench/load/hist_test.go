package load

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var all []int64
	for i := 0; i < 100000; i++ {
		v := int64(rng.ExpFloat64() * 200e3) // around 200 µs
		h.Record(time.Duration(v))
		all = append(all, v)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := all[int(q*float64(len(all)))-1]
		got := int64(h.Quantile(q))
		if d := float64(got-want) / float64(want); d > 0.01 || d < -0.01 {
			t.Errorf("q%v: got %d, want %d (%.2f%% off)", q, got, want, 100*d)
		}
	}
	if h.Quantile(1) != time.Duration(all[len(all)-1]) {
		t.Errorf("max: got %v, want %v", h.Quantile(1), all[len(all)-1])
	}
}

func TestHistogramSmallValuesExactAndMerge(t *testing.T) {
	var a, b Histogram
	for i := 1; i <= 100; i++ {
		a.Record(time.Duration(i))
	}
	b.Record(time.Hour)
	a.Merge(&b)
	if a.Count() != 101 {
		t.Fatalf("count %d", a.Count())
	}
	if got := a.Quantile(0.5); got != 51 {
		t.Errorf("p50 = %v, want 51ns", got)
	}
	if got := a.Quantile(1); got != time.Hour {
		t.Errorf("max = %v", got)
	}
	var empty Histogram
	if s := empty.Summary(); s.Count != 0 || s.P99Us != 0 {
		t.Errorf("empty summary %+v", s)
	}
}

func TestBucketRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 123456, 1 << 40} {
		got := valueOf(bucketOf(v))
		if d := float64(got-v) / float64(max(v, 1)); d > 0.008 || d < -0.008 {
			t.Errorf("value %d lands in a bucket reported as %d", v, got)
		}
	}
}
