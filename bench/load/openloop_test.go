package load

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"zkd/wire"
)

func TestScheduleCount(t *testing.T) {
	sc := Schedule{First: 1000, Interval: 333.3}
	brute := func(from, to int64) uint64 {
		var n uint64
		for k := int64(0); sc.at(k) < to; k++ {
			if sc.at(k) >= from {
				n++
			}
		}
		return n
	}
	for _, c := range [][2]int64{{0, 0}, {0, 1000}, {0, 1001}, {1000, 1334}, {1333, 1334}, {1334, 5000}, {999, 100000}, {5000, 4000}} {
		if got, want := sc.count(c[0], c[1]), brute(c[0], c[1]); got != want {
			t.Errorf("count(%d, %d) = %d, want %d", c[0], c[1], got, want)
		}
	}
}

func openAgainst(t *testing.T, f *fakeServer, interval time.Duration, maxInFlight int, d time.Duration) *OpenStats {
	t.Helper()
	s, err := Dial(f.Addr(), Options{MaxInFlight: maxInFlight + 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	t0 := mono() + int64(10*time.Millisecond)
	win := Window{Start: t0, End: t0 + int64(d)}
	st, err := s.OpenLoop(context.Background(), newKV(1, "/kv", Params{Keys: 10, ValueSize: 100}, 1),
		Schedule{First: t0, Interval: float64(interval)}, maxInFlight, win, win.End+int64(d))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestOpenLoopKeepsTheSchedule(t *testing.T) {
	f := newFake(t, getDataAnswer(100))
	st := openAgainst(t, f, time.Millisecond, 64, 200*time.Millisecond)
	if st.Scheduled != 200 || st.Unsent != 0 || st.Ops != st.Scheduled || st.Errors != 0 || st.Hist.Count() != st.Ops {
		t.Fatalf("scheduled %d unsent %d ops %d errors %d recorded %d first %v", st.Scheduled, st.Unsent, st.Ops, st.Errors, st.Hist.Count(), st.FirstErr)
	}
}

// A server that stalls must be charged for the requests due during the
// stall, including those the client could not send because its in-flight
// slots were taken: latency runs from the due time.
func TestOpenLoopChargesStalls(t *testing.T) {
	var n atomic.Int64
	answer := getDataAnswer(100)
	f := newFake(t, func(op wire.OpCode, b []byte) (wire.Error, []byte) {
		if n.Add(1) == 50 {
			time.Sleep(100 * time.Millisecond)
		}
		return answer(op, b)
	})
	st := openAgainst(t, f, time.Millisecond, 4, 300*time.Millisecond)
	if st.Unsent != 0 || st.Ops != st.Scheduled || st.Errors != 0 {
		t.Fatalf("scheduled %d unsent %d ops %d errors %d", st.Scheduled, st.Unsent, st.Ops, st.Errors)
	}
	if st.MaxLag < int64(80*time.Millisecond) {
		t.Errorf("max send lag %v, want the stall (the in-flight slots were full)", time.Duration(st.MaxLag))
	}
	// About 100 requests fell due during the stall: their latencies run
	// from 100 ms down to 0, so the 90th percentile of 300 is well above
	// what a closed loop of depth 4 would have recorded (at most the stall
	// for 4 requests).
	if q := st.Hist.Quantile(0.9); q < 5*time.Millisecond {
		t.Errorf("p90 %v: the stall was not charged to the requests due during it", q)
	}
}

func TestOpenLoopInvalidWhenTheServerFallsBehind(t *testing.T) {
	answer := getDataAnswer(100)
	f := newFake(t, func(op wire.OpCode, b []byte) (wire.Error, []byte) {
		time.Sleep(2 * time.Millisecond) // at most ~500 replies/s
		return answer(op, b)
	})
	env := &Env{Addr: f.Addr()}
	p := Params{Keys: 10, ValueSize: 100}
	res, err := runOpenLoop(context.Background(), env, "read-rate", openLoop{
		sessions: 1, rate: 2000, duration: 300 * time.Millisecond,
		gen: func(i int) Gen { return newKV(1, "/kv", p, 1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() || res.Valid() || !strings.Contains(res.Invalid, "could not keep up") {
		t.Fatalf("failed %v valid %v invalid %q", res.Failed(), res.Valid(), res.Invalid)
	}
	if res.Extra["offered_per_sec"] != 2000 || res.OpsPerSec > 1000 {
		t.Errorf("offered %v achieved %v", res.Extra["offered_per_sec"], res.OpsPerSec)
	}
}

func TestOpenLoopValidWhenTheServerKeepsUp(t *testing.T) {
	f := newFake(t, getDataAnswer(100))
	p := Params{Keys: 10, ValueSize: 100}
	res, err := runOpenLoop(context.Background(), &Env{Addr: f.Addr()}, "read-rate", openLoop{
		sessions: 4, rate: 2000, duration: 500 * time.Millisecond,
		gen: func(i int) Gen { return newKV(uint64(i), "/kv", p, 1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Valid() || res.Extra["scheduled"] != 1000 || res.Latency.Count != 1000 {
		t.Fatalf("valid %v (%s %s) scheduled %v counted %d", res.Valid(), res.Invalid, res.FirstError, res.Extra["scheduled"], res.Latency.Count)
	}
}

// TestPacerWaits checks that a pacer's wait lasts at least what it was
// asked for: a pacer that returned early would send requests before they
// are due and flatter the server.
func TestPacerWaits(t *testing.T) {
	p := newPacer()
	defer p.close()
	for _, d := range []time.Duration{0, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		for range 20 {
			t0 := time.Now()
			if !p.wait(d) {
				t.Fatalf("wait(%v) failed", d)
			}
			if got := time.Since(t0); got < d {
				t.Fatalf("wait(%v) returned after %v", d, got)
			}
		}
	}
}
