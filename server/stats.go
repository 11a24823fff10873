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
}

func (st *serverStats) record(lat int64) {
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

// avgLatency is printed as Java prints a double.
func (st *serverStats) avgLatency() string {
	n := st.countLat.Load()
	if n == 0 {
		return "0.0"
	}
	return javaDouble(float64(st.totLat.Load()) / float64(n))
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
