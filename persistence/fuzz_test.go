package persistence

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

// seedLog returns the bytes of a small valid log file.
func seedLog(f *testing.F, n int) []byte {
	dir := f.TempDir()
	w := NewTxnLogWriter(dir, 0, LogWriterOptions{PreAllocSize: -1, Log: testLogger})
	g := newGen(13)
	var txns []*wire.Txn
	for i := 0; i < n; i++ {
		txns = append(txns, g.next())
	}
	writeTxns(f, w, txns)
	w.Close()
	b, err := os.ReadFile(filepath.Join(dir, "log.1"))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzLogReader feeds arbitrary bytes to the log reader as the last (and
// an earlier) log file: it may fail, never panic, and a repair must leave
// a file that reads without error.
func FuzzLogReader(f *testing.F) {
	valid := seedLog(f, 12)
	f.Add(valid)
	f.Add(valid[:len(valid)-7])
	f.Add(append(append([]byte{}, valid...), make([]byte, 100)...))
	f.Add(valid[:16])
	f.Add([]byte{})
	flipped := append([]byte{}, valid...)
	flipped[40] ^= 0xff
	f.Add(flipped)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "log.1")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		it, err := ReadTxns(dir, 0, IterOptions{Repair: true, NoSync: true, MaxRecord: 1 << 16, Log: testLogger})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for it.Next() {
			_ = it.Txn().Type().String()
			n++
		}
		failed := it.Err() != nil
		it.Close()
		if failed {
			return
		}
		// Repaired: a second read sees the same txns and no error.
		it2, _ := ReadTxns(dir, 0, IterOptions{Repair: true, NoSync: true, MaxRecord: 1 << 16, Log: testLogger})
		m := 0
		for it2.Next() {
			m++
		}
		if it2.Err() != nil || m != n {
			t.Fatalf("after repair: %d txns (was %d), err %v", m, n, it2.Err())
		}
		it2.Close()
		// The same bytes as an earlier file followed by another log.
		os.WriteFile(p, data, 0o644)
		os.WriteFile(filepath.Join(dir, "log.1000"), valid, 0o644)
		it3, _ := ReadTxns(dir, 0, IterOptions{MaxRecord: 1 << 16, Log: testLogger})
		for it3.Next() {
		}
		it3.Close()
	})
}

// FuzzSnapshotReader feeds arbitrary bytes to the snapshot reader in each
// compression mode: it may fail, never panic.
func FuzzSnapshotReader(f *testing.F) {
	tr := tree.New()
	tr.Sessions[5] = 3000
	tr.CreateNode("/a", []byte("x"), mixedACL, 5, -1, 1, 1)
	tr.CreateNode("/a2", nil, digestACL, 0, -1, 2, 2)
	tr.LastProcessedZxid = 2
	for _, comp := range []string{CompressNone, CompressGzip, CompressSnappy} {
		dir := f.TempDir()
		p, err := WriteSnapshot(dir, tr, noLock{}, SnapWriteOptions{Compression: comp, Digest: true, LastZxid: true, NoSync: true})
		if err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		f.Add(b, uint8(len(comp)))
		f.Add(b[:len(b)/2], uint8(len(comp)))
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		m := []string{CompressNone, CompressGzip, CompressSnappy}[int(mode)%3]
		sf, err := ReadSnapshot(bytes.NewReader(data), m, SnapReadOptions{MaxRecord: 1 << 16, ExtendedTypes: mode&4 != 0})
		if err != nil {
			return
		}
		// A tree that read back can be walked and written again.
		sf.Tree.Walk(func(string, *tree.Node) bool { return true })
		var buf bytes.Buffer
		snap := sf.Tree.BeginSnapshot()
		if _, err := snap.WriteTo(&buf, noLock{}); err != nil {
			t.Fatal(err)
		}
		snap.End()
	})
}

// FuzzLogRecords runs the record reader over arbitrary bytes in memory:
// every record it accepts has a matching checksum and decodes, and the
// torn-tail check never panics.
func FuzzLogRecords(f *testing.F) {
	valid := seedLog(f, 12)
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(append(append([]byte{}, valid...), 0, 0, 0, 0, 1, 2, 3))
	f.Add(valid[:20])
	f.Fuzz(func(t *testing.T, data []byte) {
		lr, err := NewLogReader("fuzz", bytes.NewReader(data), int64(len(data)), 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		for {
			entry, err := lr.Next()
			if err != nil {
				if err != io.EOF {
					if _, terr := lr.tornTail(); terr != nil {
						t.Fatal(terr)
					}
				}
				return
			}
			if lr.Offset() > int64(len(data)) || lr.RecordOffset() < 16 {
				t.Fatalf("offsets %d/%d out of range", lr.RecordOffset(), lr.Offset())
			}
			if txn, err := wire.DecodeTxn(entry); err == nil {
				_ = jute.Marshal(&txn)
			}
		}
	})
}
