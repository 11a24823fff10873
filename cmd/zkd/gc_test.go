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
