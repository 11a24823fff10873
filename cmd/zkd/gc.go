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
// znodes (about 190 MiB live) is collected at 25% growth. GOGC or
// GOMEMLIMIT in the environment turn the tuning off.
const (
	gcHeadroom   = 32 << 20
	gcMinPercent = 25
	gcInterval   = time.Second
)

// gcPercent is the GOGC value for a live heap of live bytes.
func gcPercent(live uint64) int {
	if live == 0 {
		return 100
	}
	return int(min(100, max(gcMinPercent, gcHeadroom*100/live)))
}

// tuneGC adjusts the GC percent to the live heap every gcInterval until
// ctx ends.
func tuneGC(ctx context.Context, log zerolog.Logger) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	cur := 100
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		p := gcPercent(sample[0].Value.Uint64())
		if p == cur {
			continue
		}
		if old := debug.SetGCPercent(p); old < 0 {
			// Collection is off while a snapshot is restored: leave it so.
			debug.SetGCPercent(old)
			continue
		}
		log.Debug().Int("gogc", p).Uint64("live", sample[0].Value.Uint64()).Msg("GC percent adjusted to the live heap")
		cur = p
	}
}
