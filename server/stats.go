package server

import (
	"math"
	"strconv"
	"sync/atomic"
)

// serverStats are the counters four-letter words and metrics report.
type serverStats struct {
	received         atomic.Int64
	sent             atomic.Int64
	connections      atomic.Int64
	minLat           atomic.Int64
	maxLat           atomic.Int64
	totLat           atomic.Int64
	countLat         atomic.Int64
	digestMismatches atomic.Int64

	// readLat and updateLat split the same observations as ZooKeeper's
	// readlatency/updatelatency summaries; nil unless a metrics provider
	// wants them (set before serving starts, then read-only).
	readLat, updateLat *latencySummary
}

// record counts one answered request's latency in ms. write says whether
// it went through the txn pipeline (ZooKeeper: the request had a txn
// header), which picks the summary it also feeds.
func (st *serverStats) record(lat int64, write bool) {
	if write {
		st.updateLat.observe(lat)
	} else {
		st.readLat.observe(lat)
	}
	st.totLat.Add(lat)
	st.countLat.Add(1)
	for {
		m := st.minLat.Load()
		if lat >= m || st.minLat.CompareAndSwap(m, lat) {
			break
		}
	}
	for {
		m := st.maxLat.Load()
		if lat <= m || st.maxLat.CompareAndSwap(m, lat) {
			break
		}
	}
}

// minLatency is 0 until something was measured.
func (st *serverStats) minLatency() int64 {
	if st.countLat.Load() == 0 {
		return 0
	}
	return st.minLat.Load()
}

func (st *serverStats) reset() {
	st.minLat.Store(math.MaxInt64)
	st.maxLat.Store(0)
	st.totLat.Store(0)
	st.countLat.Store(0)
	st.received.Store(0)
	st.sent.Store(0)
}

// avgLatency is the mean latency in ms rounded to 4 decimals half up, as
// ZooKeeper's AvgMinMaxCounter.getAvg does (srvr shows 2.7, mntr 4.1667).
func (st *serverStats) avgLatency() float64 {
	return roundedAvg(st.totLat.Load(), st.countLat.Load())
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
