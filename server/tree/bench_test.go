package tree

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"zkd/jute"
)

// benchStream is a snapshot stream of a three-level tree of n nodes
// below the system nodes, each holding 100 bytes of data, as a restore
// of a large database reads it.
func benchStream(b *testing.B, n int) []byte {
	b.Helper()
	if in, ok := benchStreams[n]; ok {
		return in
	}
	// fan-out f per level so that f + f² + f³ ≥ n.
	f := 1
	for f+f*f+f*f*f < n {
		f++
	}
	tr := New()
	data := make([]byte, 100)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	zxid := int64(0)
	made := 0
	create := func(p string) bool {
		if made == n {
			return false
		}
		zxid++
		if _, err := tr.CreateNode(p, data, OpenACLUnsafe, 0, -1, zxid, zxid*1000); err != nil {
			b.Fatal(err)
		}
		made++
		return true
	}
	for i := 0; i < f && made < n; i++ {
		p1 := "/n" + strconv.Itoa(i)
		create(p1)
		for j := 0; j < f && made < n; j++ {
			p2 := p1 + "/n" + strconv.Itoa(j)
			create(p2)
			for k := 0; k < f && create(p2+"/n"+strconv.Itoa(k)); k++ {
			}
		}
	}
	tr.LastProcessedZxid = zxid
	var buf bytes.Buffer
	s := tr.BeginSnapshot()
	if _, err := s.WriteTo(&buf, nopLocker{}); err != nil {
		b.Fatal(err)
	}
	s.End()
	benchStreams[n] = buf.Bytes()
	return buf.Bytes()
}

// benchStreams keeps the streams built, as a benchmark function runs
// more than once.
var benchStreams = map[int][]byte{}

// BenchmarkReadSnapshot measures a restore's tree work, ReadSnapshot and
// Finish, over 100k nodes (and 1M with ZKD_BENCH_1M=1), reported per
// node; on a busy machine cpu-ns/node (the process's CPU time, the
// collector's included) is steadier than ns/node. Each iteration starts
// from a collected heap, as a restore does.
func BenchmarkReadSnapshot(b *testing.B) {
	sizes := []int{100_000}
	if os.Getenv("ZKD_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			in := benchStream(b, n)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			var mallocs, allocated uint64
			var cpu time.Duration
			var total int
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				var ms0, ms1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms0)
				cpu0 := processCPU()
				b.StartTimer()
				tr, err := ReadSnapshot(jute.NewStream(bytes.NewReader(in), 1<<20))
				if err != nil {
					b.Fatal(err)
				}
				tr.Finish()
				b.StopTimer()
				cpu += processCPU() - cpu0
				runtime.ReadMemStats(&ms1)
				mallocs += ms1.Mallocs - ms0.Mallocs
				allocated += ms1.TotalAlloc - ms0.TotalAlloc
				total = tr.NodeCount()
				b.StartTimer()
			}
			b.StopTimer()
			if total != n+4 {
				b.Fatalf("%d nodes read, want %d", total, n+4)
			}
			per := float64(b.N) * float64(total)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/node")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/per, "cpu-ns/node")
			}
			b.ReportMetric(float64(mallocs)/per, "allocs/node")
			b.ReportMetric(float64(allocated)/per, "B/node")
		})
	}
}

// processCPU is the CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
