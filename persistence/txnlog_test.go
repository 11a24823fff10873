package persistence

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"zkd/jute"
	"zkd/wire"
)

// everyTxnType is one txn of each kind the log can hold.
func everyTxnType() []*wire.Txn {
	hdr := func(z int64, typ wire.OpCode) jute.TxnHeader {
		return jute.TxnHeader{ClientID: 0x100000abc, Cxid: int32(z), Zxid: z, Time: 1_700_000_000_000 + z, Type: int32(typ)}
	}
	dg := &jute.TxnDigest{Version: 2, TreeDigest: -1234567890123}
	multi := &jute.MultiTxn{Txns: []jute.Txn{
		{Type: int32(wire.OpCreate), Data: jute.Marshal(&jute.CreateTxn{Path: "/m", Data: []byte("x"), ACL: worldAll, ParentCVersion: 3})},
		{Type: int32(wire.OpSetData), Data: jute.Marshal(&jute.SetDataTxn{Path: "/m", Data: []byte("y"), Version: 1})},
		{Type: int32(wire.OpCheck), Data: jute.Marshal(&jute.CheckVersionTxn{Path: "/m", Version: 1})},
		{Type: int32(wire.OpDelete), Data: jute.Marshal(&jute.DeleteTxn{Path: "/m"})},
	}}
	failedMulti := &jute.MultiTxn{Txns: []jute.Txn{
		{Type: int32(wire.OpCreate), Data: jute.Marshal(&jute.CreateTxn{Path: "/a", ACL: worldAll, ParentCVersion: 1})},
		{Type: int32(wire.OpError), Data: jute.Marshal(&jute.ErrorTxn{Err: int32(wire.ErrNoNode)})},
		{Type: int32(wire.OpError), Data: jute.Marshal(&jute.ErrorTxn{Err: int32(wire.ErrRuntimeInconsistency)})},
	}}
	return []*wire.Txn{
		{Header: hdr(1, wire.OpCreateSession), Record: &jute.CreateSessionTxn{TimeOut: 30000}, Digest: dg},
		{Header: hdr(2, wire.OpCreate), Record: &jute.CreateTxn{Path: "/a", Data: []byte("data"), ACL: worldAll, ParentCVersion: 1}, Digest: dg},
		{Header: hdr(3, wire.OpCreate2), Record: &jute.CreateTxn{Path: "/a/e", Data: nil, ACL: mixedACL, Ephemeral: true, ParentCVersion: 1}, Digest: dg},
		{Header: hdr(4, wire.OpCreateTTL), Record: &jute.CreateTTLTxn{Path: "/t", Data: []byte{}, ACL: digestACL, ParentCVersion: 2, TTL: 5000}, Digest: dg},
		{Header: hdr(5, wire.OpCreateContainer), Record: &jute.CreateContainerTxn{Path: "/c", Data: []byte("c"), ACL: worldAll, ParentCVersion: 3}, Digest: dg},
		{Header: hdr(6, wire.OpSetData), Record: &jute.SetDataTxn{Path: "/a", Data: bytes.Repeat([]byte("z"), 10000), Version: 1}, Digest: dg},
		{Header: hdr(7, wire.OpSetACL), Record: &jute.SetACLTxn{Path: "/a", ACL: digestACL, Version: 1}, Digest: dg},
		{Header: hdr(8, wire.OpDelete), Record: &jute.DeleteTxn{Path: "/t"}, Digest: dg},
		{Header: hdr(9, wire.OpDeleteContainer), Record: &jute.DeleteTxn{Path: "/c"}},
		{Header: hdr(10, wire.OpReconfig), Record: &jute.SetDataTxn{Path: "/zookeeper/config", Data: []byte("server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\nversion=100000000"), Version: -1}, Digest: dg},
		{Header: hdr(11, wire.OpMulti), Record: multi, Digest: dg},
		{Header: hdr(12, wire.OpMulti), Record: failedMulti},
		{Header: hdr(13, wire.OpError), Record: &jute.ErrorTxn{Err: int32(wire.ErrNodeExists)}},
		{Header: hdr(14, wire.OpCloseSession), Record: &jute.CloseSessionTxn{Paths2Delete: []string{"/a/e"}}, Digest: dg},
		{Header: hdr(15, wire.OpCloseSession), Record: &jute.CloseSessionTxn{Paths2Delete: []string{}}},
		{Header: hdr(16, wire.OpCreateSession), Record: &jute.CreateSessionTxn{TimeOut: 4000}},
	}
}

func TestLogRoundTripEveryType(t *testing.T) {
	dir := t.TempDir()
	txns := everyTxnType()
	w := NewTxnLogWriter(dir, 0, LogWriterOptions{Log: testLogger})
	writeTxns(t, w, txns)
	// A closeSession without a body (zookeeper.closeSessionTxn.enabled=false).
	bare := &wire.Txn{Header: jute.TxnHeader{ClientID: 7, Zxid: 17, Time: 5, Type: int32(wire.OpCloseSession)}}
	writeTxns(t, w, []*wire.Txn{bare})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	it, err := ReadTxns(dir, 0, IterOptions{Log: testLogger})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	i := 0
	for it.Next() {
		got := it.Txn()
		if i == len(txns) {
			if got.Type() != wire.OpCloseSession || got.Header != bare.Header || len(it.Entry()) != 32 {
				t.Fatalf("bare closeSession read back as %+v (%d bytes)", got, len(it.Entry()))
			}
			i++
			continue
		}
		want := txns[i]
		if !reflect.DeepEqual(got, want) {
			t.Errorf("txn %d (%s):\n got %+v\nwant %+v", i, want.Type(), got, want)
		}
		if e := jute.Marshal(want); !bytes.Equal(e, it.Entry()) {
			t.Errorf("txn %d: entry bytes differ", i)
		}
		i++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(txns)+1 {
		t.Fatalf("read %d txns, want %d", i, len(txns)+1)
	}
}

func TestLogRecordLayout(t *testing.T) {
	dir := t.TempDir()
	w := NewTxnLogWriter(dir, 0, LogWriterOptions{PreAllocSize: -1, Log: testLogger})
	txn := &wire.Txn{Header: jute.TxnHeader{ClientID: 1, Cxid: 2, Zxid: 0x100000001, Time: 4, Type: int32(wire.OpCreateSession)}, Record: &jute.CreateSessionTxn{TimeOut: 30000}}
	writeTxns(t, w, []*wire.Txn{txn})
	w.Close()
	b, err := os.ReadFile(filepath.Join(dir, "log.100000001"))
	if err != nil {
		t.Fatal(err)
	}
	entry := jute.Marshal(txn)
	want := []byte{0x5A, 0x4B, 0x4C, 0x47, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}
	var e jute.Encoder
	e.Long(int64(adler32Of(entry)))
	e.Buffer(entry)
	e.Byte('B')
	want = append(want, e.Bytes()...)
	if !bytes.Equal(b, want) {
		t.Fatalf("file bytes\n got %x\nwant %x", b, want)
	}
}

func TestPreallocation(t *testing.T) {
	tests := []struct {
		name     string
		prealloc int64
		appends  int
		dataLen  int
		want     int64
	}{
		{"fresh file", 0, 1, 10, 16 + 64<<20},
		{"small steps", 64 << 10, 1, 10, 16 + 64<<10},
		{"grows near the end", 64 << 10, 40, 2000, 16 + 2*64<<10},
		{"records larger than a step", 4 << 10, 3, 10000, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := NewTxnLogWriter(dir, 0, LogWriterOptions{PreAllocSize: tc.prealloc, Log: testLogger})
			var pos int64 = 16
			size := int64(16)
			for i := 0; i < tc.appends; i++ {
				txn := &wire.Txn{Header: jute.TxnHeader{Zxid: int64(i + 1), Type: int32(wire.OpSetData)}, Record: &jute.SetDataTxn{Path: "/x", Data: make([]byte, tc.dataLen)}}
				pa := tc.prealloc
				if pa == 0 {
					pa = DefaultPreAllocSize
				}
				size = paddedSize(pos, size, pa)
				pos += int64(12 + len(jute.Marshal(txn)) + 1)
				if err := w.Append(txn); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			got := fileSize(t, filepath.Join(dir, "log.1"))
			if tc.want == 0 {
				tc.want = max(size, pos)
			}
			if got != tc.want || got != max(size, pos) {
				t.Fatalf("size %d, want %d (model %d)", got, tc.want, size)
			}
			w.Close()
			// The padding reads as the end of the log.
			it, _ := ReadTxns(dir, 0, IterOptions{})
			n := 0
			for it.Next() {
				n++
			}
			if it.Err() != nil || n != tc.appends {
				t.Fatalf("read %d txns, err %v", n, it.Err())
			}
		})
	}
}

func TestPaddedSize(t *testing.T) {
	tests := []struct{ pos, size, pa, want int64 }{
		{16, 16, 1000, 1016},
		{100, 1016, 1000, 2016},     // within 4096 of the end
		{10000, 20000, 1000, 20000}, // far from the end
		{30000, 20000, 1000, 31000}, // past the end: round to a step
		{30000, 20000, 0, 20000},    // no preallocation
	}
	for _, tc := range tests {
		if got := paddedSize(tc.pos, tc.size, tc.pa); got != tc.want {
			t.Errorf("paddedSize(%d,%d,%d) = %d, want %d", tc.pos, tc.size, tc.pa, got, tc.want)
		}
	}
}

func TestRollAndBytesSinceRoll(t *testing.T) {
	dir := t.TempDir()
	w := NewTxnLogWriter(dir, 0, LogWriterOptions{PreAllocSize: 4096, Log: testLogger})
	g := newGen(1)
	var all []*wire.Txn
	for round := 0; round < 3; round++ {
		var batch []*wire.Txn
		for i := 0; i < 20; i++ {
			batch = append(batch, g.next())
		}
		writeTxns(t, w, batch)
		all = append(all, batch...)
		if w.BytesSinceRoll() == 0 {
			t.Fatal("no bytes counted")
		}
		if err := w.Roll(); err != nil {
			t.Fatal(err)
		}
		if w.BytesSinceRoll() != 0 {
			t.Fatal("roll did not reset the count")
		}
	}
	w.Close()
	names := logFileNames(t, dir)
	want := []string{"log.1", "log.15", "log.29"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	// Reading from a zxid inside the second file starts there.
	it, _ := ReadTxns(dir, 0x20, IterOptions{})
	defer it.Close()
	z := int64(0x20)
	for it.Next() {
		if it.Txn().Header.Zxid != z {
			t.Fatalf("got zxid %x, want %x", it.Txn().Header.Zxid, z)
		}
		z++
	}
	if it.Err() != nil || z != int64(len(all))+1 {
		t.Fatalf("ended at %x, err %v", z, it.Err())
	}
}

func TestSizeLimitRolls(t *testing.T) {
	dir := t.TempDir()
	w := NewTxnLogWriter(dir, 0, LogWriterOptions{SizeLimit: 1000, PreAllocSize: 4096, Log: testLogger})
	g := newGen(2)
	for i := 0; i < 50; i++ {
		writeTxns(t, w, []*wire.Txn{g.next()})
	}
	w.Close()
	if n := len(logFileNames(t, dir)); n < 3 {
		t.Fatalf("only %d files", n)
	}
}

// writeGenLog writes n generated txns in one file and returns them and
// the record offsets.
func writeGenLog(t *testing.T, dir string, n int, prealloc int64) []*wire.Txn {
	t.Helper()
	g := newGen(3)
	w := NewTxnLogWriter(dir, 0, LogWriterOptions{PreAllocSize: prealloc, Log: testLogger})
	var txns []*wire.Txn
	for i := 0; i < n; i++ {
		txns = append(txns, g.next())
	}
	writeTxns(t, w, txns)
	w.Close()
	return txns
}

func recordOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	lr, err := OpenLogFile(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lr.Close()
	var offs []int64
	for {
		if _, err := lr.Next(); err != nil {
			break
		}
		offs = append(offs, lr.RecordOffset())
	}
	offs = append(offs, lr.Offset())
	return offs
}

func TestChecksumFlipInTheMiddleIsAnError(t *testing.T) {
	for _, where := range []string{"middle of last file", "earlier file"} {
		t.Run(where, func(t *testing.T) {
			dir := t.TempDir()
			txns := writeGenLog(t, dir, 30, 8192)
			path := filepath.Join(dir, "log.1")
			if where == "earlier file" {
				// A second file after the damaged one.
				w := NewTxnLogWriter(dir, int64(len(txns)), LogWriterOptions{PreAllocSize: 8192, Log: testLogger})
				g := newGen(99)
				g.zxid = int64(len(txns))
				writeTxns(t, w, []*wire.Txn{g.next(), g.next()})
				w.Close()
			}
			offs := recordOffsets(t, path)
			b, _ := os.ReadFile(path)
			flip := offs[10] + 12 + 5 // inside the entry of the 11th record
			b[flip] ^= 0x40
			os.WriteFile(path, b, 0o644)
			it, _ := ReadTxns(dir, 0, IterOptions{Repair: true, Log: testLogger})
			n := 0
			for it.Next() {
				n++
			}
			err := it.Err()
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != path || ce.Offset != offs[10] || !strings.Contains(err.Error(), "CRC") {
				t.Fatalf("err = %v, want a CRC error for %s at %d", err, path, offs[10])
			}
			if n != 10 {
				t.Fatalf("read %d txns before the error, want 10", n)
			}
			// Nothing was cut.
			if got := fileSize(t, path); got != int64(len(b)) {
				t.Fatalf("file changed size to %d", got)
			}
		})
	}
}

func TestTornTailInEarlierFileContinuedByNextIsTolerated(t *testing.T) {
	dir := t.TempDir()
	txns := writeGenLog(t, dir, 10, 8192)
	path := filepath.Join(dir, "log.1")
	offs := recordOffsets(t, path)
	// The last record is cut in half with zeros, as a crash leaves it; the
	// server came back and logged zxid 10 again in a new file.
	b, _ := os.ReadFile(path)
	for i := offs[9] + 20; i < offs[10]; i++ {
		b[i] = 0
	}
	os.WriteFile(path, b, 0o644)
	w := NewTxnLogWriter(dir, 9, LogWriterOptions{PreAllocSize: 8192, Log: testLogger})
	writeTxns(t, w, []*wire.Txn{txns[9]})
	w.Close()
	it, _ := ReadTxns(dir, 0, IterOptions{Log: testLogger})
	n := 0
	for it.Next() {
		n++
	}
	if it.Err() != nil || n != 10 {
		t.Fatalf("read %d, err %v", n, it.Err())
	}
}

// TestTornTailAtEveryByte cuts the last log file at every offset inside
// its last record (and fills the cut with zeros, as preallocation leaves
// it): Restore must return every txn before it and cut the file there.
func TestTornTailAtEveryByte(t *testing.T) {
	for _, mode := range []string{"truncated", "zero-filled"} {
		t.Run(mode, func(t *testing.T) {
			base := t.TempDir()
			o := DefaultOptions(base, base)
			o.ForceSync = false
			o.PreAllocSize = 64 << 10
			o.ExtendedTypes = true
			o.Log = testLogger
			st, err := Open(o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Restore(); err != nil { // writes snapshot.0
				t.Fatal(err)
			}
			g := newGen(4)
			var txns []*wire.Txn
			for i := 0; i < 12; i++ {
				txns = append(txns, g.next())
			}
			w := st.Log()
			writeTxns(t, w, txns[:6])
			w.Roll()
			writeTxns(t, w, txns[6:])
			w.Close()
			path := filepath.Join(st.LogDir(), "log.7")
			pristine, _ := os.ReadFile(path)
			offs := recordOffsets(t, path)
			lastStart, lastEnd := offs[len(offs)-2], offs[len(offs)-1]
			// The expected tree: everything but the last txn.
			want := newGen(4)
			for i := 0; i < 11; i++ {
				want.next()
			}
			for cut := lastStart; cut < lastEnd; cut++ {
				var b []byte
				if mode == "truncated" {
					b = pristine[:cut]
				} else {
					b = append([]byte(nil), pristine...)
					for i := cut; i < int64(len(b)); i++ {
						b[i] = 0
					}
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				st2, err := Open(o)
				if err != nil {
					t.Fatal(err)
				}
				tr, err := st2.Restore()
				if err != nil {
					t.Fatalf("cut at %d: %v", cut, err)
				}
				if tr.LastProcessedZxid != 11 {
					t.Fatalf("cut at %d: restored to zxid %d, want 11", cut, tr.LastProcessedZxid)
				}
				if d := diffTrees(tr, want.t); d != "" {
					t.Fatalf("cut at %d:\n%s", cut, d)
				}
				// The torn record is cut off; zeros alone are padding and may stay.
				after, _ := os.ReadFile(path)
				if int64(len(after)) != lastStart && !allZero(after[lastStart:]) {
					t.Fatalf("cut at %d: file is %d bytes, want truncation to %d", cut, len(after), lastStart)
				}
				if info := st2.LastRestore(); info.Replayed != 11 {
					t.Fatalf("cut at %d: restore info %+v", cut, info)
				}
			}
		})
	}
}

func TestEmptyAndHeaderTornLastFileIsRemoved(t *testing.T) {
	for _, size := range []int{0, 7, 15} {
		dir := t.TempDir()
		writeGenLog(t, dir, 5, 4096)
		p := filepath.Join(dir, "log.6")
		hdr := []byte{0x5A, 0x4B, 0x4C, 0x47, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}
		os.WriteFile(p, hdr[:size], 0o644)
		it, _ := ReadTxns(dir, 1, IterOptions{Repair: true, Log: testLogger})
		n := 0
		for it.Next() {
			n++
		}
		if it.Err() != nil || n != 5 {
			t.Fatalf("size %d: read %d, err %v", size, n, it.Err())
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("size %d: torn last file not removed", size)
		}
	}
}

func TestBadMagicIsAnError(t *testing.T) {
	dir := t.TempDir()
	writeGenLog(t, dir, 3, 4096)
	p := filepath.Join(dir, "log.1")
	b, _ := os.ReadFile(p)
	b[0] = 'X'
	os.WriteFile(p, b, 0o644)
	it, _ := ReadTxns(dir, 1, IterOptions{Repair: true})
	for it.Next() {
	}
	if it.Err() == nil || !strings.Contains(it.Err().Error(), "magic") {
		t.Fatalf("err = %v", it.Err())
	}
}

func TestTruncateLog(t *testing.T) {
	dir := t.TempDir()
	g := newGen(5)
	w := NewTxnLogWriter(dir, 0, LogWriterOptions{PreAllocSize: 4096, Log: testLogger})
	for f := 0; f < 3; f++ {
		var b []*wire.Txn
		for i := 0; i < 10; i++ {
			b = append(b, g.next())
		}
		writeTxns(t, w, b)
		w.Roll()
	}
	w.Close()
	if err := TruncateLog(dir, 15, testLogger); err != nil {
		t.Fatal(err)
	}
	if names := logFileNames(t, dir); !reflect.DeepEqual(names, []string{"log.1", "log.b"}) {
		t.Fatalf("files after truncation: %v", names)
	}
	last, err := LastLoggedZxid(dir, 0)
	if err != nil || last != 15 {
		t.Fatalf("last zxid %d, err %v", last, err)
	}
	if err := TruncateLog(dir, 99, testLogger); err == nil {
		t.Fatal("truncating past the end should fail")
	}
	// Appending continues in a new file.
	w2 := NewTxnLogWriter(dir, 15, LogWriterOptions{PreAllocSize: 4096, Log: testLogger})
	g2 := newGen(6)
	g2.zxid = 15
	writeTxns(t, w2, []*wire.Txn{g2.next()})
	w2.Close()
	last, _ = LastLoggedZxid(dir, 0)
	if last != 16 {
		t.Fatalf("last zxid %d after append", last)
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	dir := t.TempDir()
	w := NewTxnLogWriter(dir, 0, LogWriterOptions{PreAllocSize: 1 << 20, Log: testLogger})
	defer w.Close()
	txn := &wire.Txn{Header: jute.TxnHeader{ClientID: 1, Type: int32(wire.OpSetData)}, Record: &jute.SetDataTxn{Path: "/a/b/c", Data: make([]byte, 100), Version: 3}, Digest: &jute.TxnDigest{Version: 2, TreeDigest: 5}}
	z := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		z++
		txn.Header.Zxid = z
		if err := w.Append(txn); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Fatalf("Append allocates %.1f times per txn", allocs)
	}
}

func TestSlowFsyncIsLogged(t *testing.T) {
	var buf bytes.Buffer
	w := NewTxnLogWriter(t.TempDir(), 0, LogWriterOptions{ForceSync: true, FsyncWarn: time.Nanosecond, PreAllocSize: 4096, Log: zerolog.New(&buf)})
	defer w.Close()
	writeTxns(t, w, []*wire.Txn{newGen(1).next()})
	if !strings.Contains(buf.String(), "fsync-ing the write ahead log") || !strings.Contains(buf.String(), `"level":"warn"`) {
		t.Fatalf("no warning logged: %s", buf.String())
	}
	if st := w.Stats(); st.Fsyncs != 1 || st.FsyncThresholdExceeded != 1 || st.LastFsync <= 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStoreTruncateThenAppend(t *testing.T) {
	o := testOptions(t)
	o.PreAllocSize = 64 << 10
	st, _ := Open(o)
	if _, err := st.Restore(); err != nil {
		t.Fatal(err)
	}
	g := newGen(14)
	var txns []*wire.Txn
	for i := 0; i < 30; i++ {
		txns = append(txns, g.next())
	}
	writeTxns(t, st.Log(), txns[:20])
	st.Log().Roll()
	writeTxns(t, st.Log(), txns[20:])
	// A leader says: truncate to zxid 12, then sends a different future.
	if err := st.Truncate(12); err != nil {
		t.Fatal(err)
	}
	if last, _ := st.LastLoggedZxid(); last != 12 {
		t.Fatalf("last logged %d", last)
	}
	want := newGen(14)
	for i := 0; i < 12; i++ {
		want.next()
	}
	want.rnd.Seed(99) // a different continuation
	var more []*wire.Txn
	for i := 0; i < 5; i++ {
		more = append(more, want.next())
	}
	writeTxns(t, st.Log(), more)
	st.Close()
	st2, _ := Open(o)
	tr, err := st2.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if d := diffTrees(tr, want.t); d != "" {
		t.Fatal(d)
	}
	if names := logFileNames(t, st2.LogDir()); !reflect.DeepEqual(names, []string{"log.1", "log.d"}) {
		t.Fatalf("files %v", names)
	}
}
