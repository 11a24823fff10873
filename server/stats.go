package server

import (
	"math"
	"strconv"
	"sync/atomic"
)

// serverStats are the counters four-letter words and metrics report.
// The per-request ones live in shards picked by connection, so the event
// loops do not fight over one cache line on every request; reading them
// sums the shards.
type serverStats struct {
	shards           [statShards]statShard
	connections      atomic.Int64
	digestMismatches atomic.Int64

	// readLat and updateLat split the same observations as ZooKeeper's
	// readlatency/updatelatency summaries; nil unless a metrics provider
	// wants them (set before serving starts, then read-only).
	readLat, updateLat *latencySummary
}

const statShards = 8

type statShard struct {
	received, sent, minLat, maxLat, totLat, countLat atomic.Int64
	_                                                [16]byte // to 64 bytes: one cache line each
}

func (st *serverStats) shard(connID uint64) *statShard { return &st.shards[connID%statShards] }

// record counts one answered request's latency in ms. write says whether
// it went through the txn pipeline (ZooKeeper: the request had a txn
// header), which picks the summary it also feeds.
func (st *serverStats) record(connID uint64, lat int64, write bool) {
	if write {
		st.updateLat.observe(lat)
	} else {
		st.readLat.observe(lat)
	}
	sh := st.shard(connID)
	if lat != 0 {
		sh.totLat.Add(lat)
	}
	sh.countLat.Add(1)
	for {
		m := sh.minLat.Load()
		if lat >= m || sh.minLat.CompareAndSwap(m, lat) {
			break
		}
	}
	for {
		m := sh.maxLat.Load()
		if lat <= m || sh.maxLat.CompareAndSwap(m, lat) {
			break
		}
	}
}

func (st *serverStats) received() int64 {
	var n int64
	for i := range st.shards {
		n += st.shards[i].received.Load()
	}
	return n
}

func (st *serverStats) sent() int64 {
	var n int64
	for i := range st.shards {
		n += st.shards[i].sent.Load()
	}
	return n
}

// latencies sums the shards: total and count of measured requests, and
// the extremes (min is 0 until something was measured).
func (st *serverStats) latencies() (tot, n, lo, hi int64) {
	lo = math.MaxInt64
	for i := range st.shards {
		sh := &st.shards[i]
		tot += sh.totLat.Load()
		n += sh.countLat.Load()
		lo = min(lo, sh.minLat.Load())
		hi = max(hi, sh.maxLat.Load())
	}
	if n == 0 {
		lo = 0
	}
	return tot, n, lo, hi
}

func (st *serverStats) minLatency() int64 { _, _, lo, _ := st.latencies(); return lo }
func (st *serverStats) maxLatency() int64 { _, _, _, hi := st.latencies(); return hi }

func (st *serverStats) reset() {
	for i := range st.shards {
		sh := &st.shards[i]
		sh.minLat.Store(math.MaxInt64)
		sh.maxLat.Store(0)
		sh.totLat.Store(0)
		sh.countLat.Store(0)
		sh.received.Store(0)
		sh.sent.Store(0)
	}
}

// avgLatency is the mean latency in ms rounded to 4 decimals half up, as
// ZooKeeper's AvgMinMaxCounter.getAvg does (srvr shows 2.7, mntr 4.1667).
func (st *serverStats) avgLatency() float64 {
	tot, n, _, _ := st.latencies()
	return roundedAvg(tot, n)
}

// roundedAvg is tot/n rounded half up to 4 decimals, in integers so that
// ties (1/32 = 0.03125) round as BigDecimal's HALF_UP does.
func roundedAvg(tot, n int64) float64 {
	if n <= 0 {
		return 0
	}
	q, r := tot*10000/n, tot*10000%n
	if 2*r >= n {
		q++
	}
	return float64(q) / 10000
}

// javaDouble formats like Double.toString for ordinary magnitudes.
func javaDouble(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s
		}
	}
	return s + ".0"
}

// hexID formats an id as 0x<hex>, Java's Long.toHexString style.
func hexID(v int64) string { return "0x" + strconv.FormatUint(uint64(v), 16) }
