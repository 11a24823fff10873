package main

import "testing"

func TestGCPercent(t *testing.T) {
	tests := []struct {
		live uint64
		want int
	}{
		{0, 100},
		{1 << 20, 100},
		{32 << 20, 100},
		{64 << 20, 50},
		{128 << 20, 25},
		{1 << 30, 25},
	}
	for _, tc := range tests {
		if got := gcPercent(tc.live); got != tc.want {
			t.Errorf("gcPercent(%d) = %d, want %d", tc.live, got, tc.want)
		}
	}
}

// TestIdleCollector walks the idle collector through a load, the quiet
// after it, a trickle of writes and a second burst.
func TestIdleCollector(t *testing.T) {
	const mib = 1 << 20
	steps := []struct {
		name string
		s    heapSample
		want bool
	}{
		{"loading", heapSample{allocs: 500 * mib, live: 200 * mib, held: 260 * mib}, false},
		{"still loading", heapSample{allocs: 900 * mib, live: 220 * mib, held: 270 * mib}, false},
		{"idle with garbage", heapSample{allocs: 900 * mib, live: 220 * mib, held: 270 * mib}, true},
		{"idle after the collection", heapSample{allocs: 900 * mib, live: 220 * mib, held: 222 * mib}, false},
		{"trickle below the garbage bar", heapSample{allocs: 900*mib + mib/2, live: 220 * mib, held: 240 * mib}, false},
		{"trickle adds up, but garbage small", heapSample{allocs: 916*mib + mib/4, live: 220 * mib, held: 230 * mib}, false},
		{"trickle adds up with garbage", heapSample{allocs: 916*mib + mib/2, live: 220 * mib, held: 240 * mib}, true},
		{"again at once", heapSample{allocs: 916*mib + mib/2, live: 220 * mib, held: 240 * mib}, false},
		{"burst", heapSample{allocs: 2000 * mib, live: 221 * mib, held: 275 * mib}, false},
		{"idle after the burst", heapSample{allocs: 2000 * mib, live: 221 * mib, held: 275 * mib}, true},
	}
	var c idleCollector
	for _, st := range steps {
		if got := c.due(st.s); got != st.want {
			t.Errorf("%s: due = %v, want %v", st.name, got, st.want)
		}
	}
}
