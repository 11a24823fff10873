package persistence

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name  string
		batch int
		sync  bool
	}{
		{"nosync", 100, false},
		{"fsync-batch1", 1, true},
		{"fsync-batch100", 100, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			w := NewTxnLogWriter(dir, 0, LogWriterOptions{ForceSync: bc.sync, Log: testLogger})
			defer w.Close()
			txn := &wire.Txn{
				Header: jute.TxnHeader{ClientID: 0x1000000001, Cxid: 1, Time: 1_700_000_000_000, Type: int32(wire.OpSetData)},
				Record: &jute.SetDataTxn{Path: "/app/config/node-0001", Data: make([]byte, 128), Version: 3},
				Digest: &jute.TxnDigest{Version: 2, TreeDigest: 12345},
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(jute.Marshal(txn)) + 13))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				txn.Header.Zxid = int64(i + 1)
				if err := w.Append(txn); err != nil {
					b.Fatal(err)
				}
				if (i+1)%bc.batch == 0 {
					if err := w.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := w.Commit(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// bigTree builds a tree of n znodes: 100 parents, 100-byte data, a few
// ACLs and ephemerals.
func bigTree(n int) *tree.DataTree {
	t := tree.New()
	z := int64(0)
	parents := 100
	for p := 0; p < parents; p++ {
		z++
		t.CreateNode(fmt.Sprintf("/p%03d", p), []byte("parent"), worldAll, 0, -1, z, z)
	}
	data := make([]byte, 100)
	for i := 0; i < n-parents; i++ {
		z++
		acl := worldAll
		if i%10 == 0 {
			acl = mixedACL
		}
		owner := int64(0)
		if i%50 == 0 {
			owner = int64(i%7 + 1)
			t.Sessions[owner] = 30000
		}
		t.CreateNode(fmt.Sprintf("/p%03d/node-%08d", i%parents, i), data, acl, owner, -1, z, z)
	}
	t.LastProcessedZxid = z
	return t
}

// BenchmarkRestore restores a data dir holding one snapshot of 100k znodes
// (ZKD_BENCH_NODES overrides the size) and a log of 10k txns after it.
func BenchmarkRestore(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("ZKD_BENCH_NODES")); err == nil && v > 0 {
		n = v
	}
	for _, comp := range []string{CompressNone, CompressGzip, CompressSnappy} {
		b.Run(fmt.Sprintf("nodes=%d/compression=%s", n, comp), func(b *testing.B) {
			dir := b.TempDir()
			o := DefaultOptions(dir, dir)
			o.ForceSync = false
			o.Compression = comp
			o.Log = testLogger
			st, err := Open(o)
			if err != nil {
				b.Fatal(err)
			}
			t := bigTree(n)
			p, err := st.Snapshot(t, noLock{})
			if err != nil {
				b.Fatal(err)
			}
			// 10k setData txns after the snapshot.
			w := st.Log()
			for i := 0; i < 10_000; i++ {
				z := t.LastProcessedZxid + 1
				path := fmt.Sprintf("/p%03d", i%100)
				txn := &wire.Txn{Header: jute.TxnHeader{Zxid: z, Time: z, Type: int32(wire.OpSetData)},
					Record: &jute.SetDataTxn{Path: path, Data: []byte("x"), Version: t.Node(path).Stat.Version + 1}}
				t.ProcessTxn(txn)
				if err := w.Append(txn); err != nil {
					b.Fatal(err)
				}
			}
			w.Close()
			snapMiB := float64(fileSize(b, p)) / (1 << 20)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, tr := openRestored(b, o)
				if tr.NodeCount() != t.NodeCount() || tr.LastProcessedZxid != t.LastProcessedZxid {
					b.Fatalf("restored %d nodes at %x", tr.NodeCount(), tr.LastProcessedZxid)
				}
			}
			b.StopTimer()
			b.ReportMetric(snapMiB, "snapMiB")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "nodes/s")
		})
	}
}

// BenchmarkSnapshot writes a snapshot of a 100k-znode tree.
func BenchmarkSnapshot(b *testing.B) {
	t := bigTree(100_000)
	for _, comp := range []string{CompressNone, CompressGzip, CompressSnappy} {
		b.Run("compression="+comp, func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := WriteSnapshot(dir, t, noLock{}, SnapWriteOptions{Compression: comp, Digest: true, LastZxid: true, NoSync: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRestoreDir restores the data dir named by ZKD_RESTORE_DIR (one
// holding version-2/, e.g. a copy of the memory benchmark's), as a
// restart does; skipped without it. The data dir is only read: a restore
// that finds no snapshot and no log fails instead of writing one.
func BenchmarkRestoreDir(b *testing.B) {
	dir := os.Getenv("ZKD_RESTORE_DIR")
	if dir == "" {
		b.Skip("ZKD_RESTORE_DIR not set")
	}
	o := DefaultOptions(dir, dir)
	o.ForceSync = false
	o.Log = testLogger
	b.ReportAllocs()
	for b.Loop() {
		st, tr := openRestored(b, o)
		b.ReportMetric(float64(st.LastRestore().Replayed), "replayed")
		b.ReportMetric(float64(tr.NodeCount()), "nodes")
	}
}
