package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/rs/zerolog"
)

// A server's heap is mostly its data tree, which lives long and changes
// little at a time. With Go's default GOGC=100 the heap may grow to twice
// the live data before a collection, so a large tree costs twice its size
// in RSS. tuneGC keeps the headroom at most max(gcHeadroom, a quarter of
// the live heap): small trees collect as usual, and a tree of a million
// znodes (about 220 MiB live) is collected at 25% growth.
//
// That headroom fills with garbage under load and stays resident when the
// load stops: an idle server allocates too little to reach its next
// collection, and the runtime's scavenger keeps what lies below the heap
// goal. So once the heap has gone idle (less than idleAlloc allocated in
// a gcInterval) while holding at least idleGarbage more than the live
// heap, tuneGC collects and hands the free memory back to the OS, once
// per burst. GOGC or GOMEMLIMIT in the environment turn the tuning off.
const (
	gcHeadroom   = 32 << 20
	gcMinPercent = 25
	gcInterval   = time.Second
	idleAlloc    = 1 << 20
	idleGarbage  = 16 << 20
)

// gcPercent is the GOGC value for a live heap of live bytes.
func gcPercent(live uint64) int {
	if live == 0 {
		return 100
	}
	return int(min(100, max(gcMinPercent, gcHeadroom*100/live)))
}

// heapSample is what tuneGC reads of the runtime each interval.
type heapSample struct {
	allocs uint64 // bytes allocated since the process started
	live   uint64 // live heap as of the last collection
	held   uint64 // heap memory the process holds: objects, dead or not, and free pages not yet returned
}

var heapMetrics = []string{
	"/gc/heap/allocs:bytes",
	"/gc/heap/live:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
}

func readHeap(s []metrics.Sample) (heapSample, bool) {
	metrics.Read(s)
	for _, m := range s {
		if m.Value.Kind() != metrics.KindUint64 {
			return heapSample{}, false
		}
	}
	return heapSample{
		allocs: s[0].Value.Uint64(),
		live:   s[1].Value.Uint64(),
		held:   s[2].Value.Uint64() + s[3].Value.Uint64(),
	}, true
}

// idleCollector decides when an idle heap is worth collecting.
type idleCollector struct {
	prevAllocs uint64 // allocs at the previous sample
	doneAllocs uint64 // allocs when it last collected
	done       bool
}

// due reports whether to collect now, given this interval's sample: the
// heap allocated little since the previous sample, holds idleGarbage
// beyond the live heap, and allocated at least that much since the last
// idle collection (so an idle server collects once, not every interval).
func (c *idleCollector) due(s heapSample) bool {
	idle := s.allocs-c.prevAllocs < idleAlloc
	c.prevAllocs = s.allocs
	if !idle || s.held < s.live+idleGarbage {
		return false
	}
	if c.done && s.allocs-c.doneAllocs < idleGarbage {
		return false
	}
	c.done, c.doneAllocs = true, s.allocs
	return true
}

// tuneGC adjusts the GC percent to the live heap, and collects an idle
// heap, every gcInterval until ctx ends.
func tuneGC(ctx context.Context, log zerolog.Logger) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		samples[i].Name = name
	}
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	cur := 100
	var idle idleCollector
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, ok := readHeap(samples)
		if !ok {
			return
		}
		if p := gcPercent(s.live); p != cur {
			old := debug.SetGCPercent(p)
			if old < 0 {
				// Collection is off while a snapshot is restored: leave it so.
				debug.SetGCPercent(old)
				continue
			}
			log.Debug().Int("gogc", p).Uint64("live", s.live).Msg("GC percent adjusted to the live heap")
			cur = p
		}
		if idle.due(s) {
			start := time.Now()
			debug.FreeOSMemory()
			after, _ := readHeap(samples)
			log.Debug().Uint64("held", s.held).Uint64("live", after.live).Dur("took", time.Since(start)).
				Msg("idle heap collected and returned to the OS")
		}
	}
}
