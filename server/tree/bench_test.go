package tree

import (
	"bytes"
	"fmt"
	"math/rand/v2"
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

// suiteTree builds the memory benchmark's tree (bench/load.TreeFor): a
// root /tree with fan-out 100 × 100 × (n/10,000) below it, 100 bytes of
// data per node, each data slice and path allocated on its own as a
// client's create brings them.
func suiteTree(n int) (*DataTree, int) {
	tr := New()
	leaves := max(n/10000, 1)
	zxid := int64(0)
	create := func(p string) {
		zxid++
		data := make([]byte, 100)
		for i := range data {
			data[i] = byte('a' + i%26)
		}
		if _, err := tr.CreateNode(p, data, OpenACLUnsafe, 0, -1, zxid, zxid*1000); err != nil {
			panic(err)
		}
	}
	create("/tree")
	for i := range 100 {
		p1 := fmt.Sprintf("/tree/n%02d", i)
		create(p1)
		for j := range 100 {
			p2 := fmt.Sprintf("%s/n%02d", p1, j)
			create(p2)
			for k := range leaves {
				create(fmt.Sprintf("%s/n%02d", p2, k))
			}
		}
	}
	tr.LastProcessedZxid = zxid
	return tr, int(zxid)
}

// liveHeap is the heap in use after a full collection.
func liveHeap() (alloc, inuse uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.HeapInuse
}

// BenchmarkTreeMemory reports the live heap per znode of the memory
// benchmark's tree (101,101 znodes; 1,010,101 with ZKD_BENCH_1M=1), built
// by CreateNode and read back by ReadSnapshot, and how long one full
// collection takes with the tree live (the mark work the tree costs).
func BenchmarkTreeMemory(b *testing.B) {
	n := 100_000
	if os.Getenv("ZKD_BENCH_1M") != "" {
		n = 1_000_000
	}
	report := func(b *testing.B, keep *DataTree, alloc0, inuse0 uint64) {
		alloc1, inuse1 := liveHeap()
		nodes := float64(keep.NodeCount())
		b.ReportMetric(float64(alloc1-alloc0)/nodes, "heap-B/node")
		b.ReportMetric(float64(inuse1-inuse0)/nodes, "inuse-B/node")
		t0 := time.Now()
		runtime.GC()
		b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "gc-ms")
		runtime.KeepAlive(keep)
	}
	b.Run("create", func(b *testing.B) {
		for range b.N {
			alloc0, inuse0 := liveHeap()
			tr, _ := suiteTree(n)
			report(b, tr, alloc0, inuse0)
		}
	})
	b.Run("snapshot", func(b *testing.B) {
		src, _ := suiteTree(n)
		var buf bytes.Buffer
		s := src.BeginSnapshot()
		if _, err := s.WriteTo(&buf, nopLocker{}); err != nil {
			b.Fatal(err)
		}
		s.End()
		src = nil
		in := buf.Bytes()
		for range b.N {
			alloc0, inuse0 := liveHeap()
			tr, err := ReadSnapshot(jute.NewStream(bytes.NewReader(in), 1<<20))
			if err != nil {
				b.Fatal(err)
			}
			tr.Finish()
			report(b, tr, alloc0, inuse0)
		}
	})
}

// BenchmarkTreeOps measures the tree operations of the request path on
// the memory benchmark's tree shape (101,101 znodes; 1,010,101 with
// ZKD_BENCH_1M=1): lookups of a leaf by string and by bytes, a miss, a
// create and delete of a leaf, a setData, a parent's child list and a
// client Stat.
func BenchmarkTreeOps(b *testing.B) {
	n := 100_000
	if os.Getenv("ZKD_BENCH_1M") != "" {
		n = 1_000_000
	}
	tr, zxid := suiteTree(n)
	leaf := "/tree/n42/n17/n05"
	leafBytes := []byte(leaf)
	data := make([]byte, 100)
	b.Run("Node", func(b *testing.B) {
		for b.Loop() {
			if tr.Node(leaf) == nil {
				b.Fatal("missing")
			}
		}
	})
	b.Run("NodeBytes", func(b *testing.B) {
		for b.Loop() {
			if tr.NodeBytes(leafBytes) == nil {
				b.Fatal("missing")
			}
		}
	})
	// Random leaves: with a large tree most of a lookup's memory is not
	// in the cache, as on a server under load. The node is read, as a
	// request does.
	leaves := max(n/10000, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]string, 1<<16)
	for i := range random {
		random[i] = fmt.Sprintf("/tree/n%02d/n%02d/n%02d", rng.IntN(100), rng.IntN(100), rng.IntN(leaves))
	}
	b.Run("Node-random", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if nd := tr.Node(random[i&(len(random)-1)]); nd == nil || nd.Stat.Mzxid == 0 {
				b.Fatal("missing")
			}
			i++
		}
	})
	b.Run("Node-missing", func(b *testing.B) {
		for b.Loop() {
			if tr.Node("/tree/n42/n17/x05") != nil {
				b.Fatal("found")
			}
		}
	})
	b.Run("CreateDelete", func(b *testing.B) {
		b.ReportAllocs()
		z := int64(zxid)
		for b.Loop() {
			z++
			if _, err := tr.CreateNode("/tree/n42/n17/new", data, OpenACLUnsafe, 0, -1, z, z); err != nil {
				b.Fatal(err)
			}
			z++
			if err := tr.DeleteNode("/tree/n42/n17/new", z); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SetData", func(b *testing.B) {
		b.ReportAllocs()
		z := int64(zxid) + 1<<40
		v := int32(0)
		for b.Loop() {
			z++
			v++
			if _, err := tr.SetData(leaf, data, v, z, z); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ChildNames", func(b *testing.B) {
		b.ReportAllocs()
		p := tr.Node("/tree/n42")
		for b.Loop() {
			if len(p.ChildNames()) != 100 {
				b.Fatal("children")
			}
		}
	})
	b.Run("ClientStat", func(b *testing.B) {
		nd := tr.Node(leaf)
		var st jute.Stat
		for b.Loop() {
			tr.CopyStat(nd, &st)
		}
	})
}
