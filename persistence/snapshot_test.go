package persistence

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

// richTree builds a tree with every kind of node a snapshot must carry.
func richTree(t testing.TB) *tree.DataTree {
	tr := tree.New()
	tr.ExtendedTypes = true
	z := int64(0)
	mk := func(p string, data []byte, acl []jute.ACL, owner int64) {
		z++
		if _, err := tr.CreateNode(p, data, acl, owner, -1, z, 1_700_000_000_000+z); err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	tr.Sessions[0x1000001] = 30000
	tr.Sessions[0x1000002] = 4000
	tr.Sessions[0x1000003] = 40000
	mk("/app", []byte("root data"), worldAll, 0)
	mk("/app/cfg", nil, digestACL, 0)
	mk("/app/empty", []byte{}, mixedACL, 0)
	mk("/app/e1", []byte("eph"), worldAll, 0x1000001)
	mk("/app/e2", nil, worldAll, 0x1000001)
	mk("/app/e3", nil, mixedACL, 0x1000002)
	mk("/app/container", nil, worldAll, tree.ContainerOwner)
	mk("/app/container/child", []byte("c"), worldAll, 0)
	mk("/app/ttl", []byte("t"), worldAll, tr.TTLOwner(60000))
	mk("/big", bytes.Repeat([]byte{0xAB}, 500_000), worldAll, 0)
	mk("/zookeeper/quota/app", nil, worldAll, 0)
	mk("/zookeeper/quota/app/zookeeper_limits", []byte("count=100,bytes=-1"), worldAll, 0)
	mk("/zookeeper/quota/app/zookeeper_stats", []byte("count=8,bytes=20"), worldAll, 0)
	for i := 0; i < 300; i++ {
		mk(tree.Join("/app/cfg", "k"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26))), []byte{byte(i)}, worldAll, 0)
	}
	z++
	if _, err := tr.SetData("/app", []byte("v2"), 1, z, 1_700_000_100_000); err != nil {
		t.Fatal(err)
	}
	z++
	if _, err := tr.SetACL("/app/cfg", mixedACL, 1); err != nil {
		t.Fatal(err)
	}
	tr.LastProcessedZxid = z
	return tr
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, comp := range []string{CompressNone, CompressGzip, CompressSnappy} {
		for _, sections := range []struct{ digest, last bool }{{true, true}, {true, false}, {false, true}, {false, false}} {
			name := comp + "/digest=" + map[bool]string{true: "on", false: "off"}[sections.digest] + "/last=" + map[bool]string{true: "on", false: "off"}[sections.last]
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				tr := richTree(t)
				p, err := WriteSnapshot(dir, tr, noLock{}, SnapWriteOptions{Compression: comp, Digest: sections.digest, LastZxid: sections.last, NoSync: true})
				if err != nil {
					t.Fatal(err)
				}
				if want := filepath.Join(dir, SnapshotName(tr.LastProcessedZxid, comp)); p != want {
					t.Fatalf("path %s, want %s", p, want)
				}
				if !IsValidSnapshot(p) {
					t.Fatal("written snapshot fails the validity check")
				}
				sf, err := ReadSnapshotFile(p, SnapReadOptions{ExtendedTypes: true})
				if err != nil {
					t.Fatal(err)
				}
				if d := diffTrees(tr, sf.Tree); d != "" {
					t.Fatal(d)
				}
				if sf.Zxid != tr.LastProcessedZxid || sf.Header.Magic != SnapshotMagic || sf.Header.DBID != -1 {
					t.Fatalf("zxid %x header %+v", sf.Zxid, sf.Header)
				}
				if sf.DigestSection != sections.digest || sf.HasLastZxid != sections.last {
					t.Fatalf("sections: digest %v last %v", sf.DigestSection, sf.HasLastZxid)
				}
				if sections.digest && (sf.Digest == nil || sf.Digest.Digest != tr.Digest() || sf.Digest.Zxid != tr.LastProcessedZxid) {
					t.Fatalf("digest %+v, want %d at %x", sf.Digest, tr.Digest(), tr.LastProcessedZxid)
				}
				if sections.last && sf.LastZxid != tr.LastProcessedZxid {
					t.Fatalf("last zxid %x", sf.LastZxid)
				}
				// Indexes are rebuilt: ephemerals, containers, TTLs, quotas.
				if n := len(sf.Tree.Ephemerals(0x1000001)); n != 2 {
					t.Fatalf("ephemerals of session 1: %d", n)
				}
				if c := sf.Tree.Containers(); len(c) != 1 || c[0] != "/app/container" {
					t.Fatalf("containers %v", c)
				}
				if c := sf.Tree.TTLs(); len(c) != 1 || c[0] != "/app/ttl" {
					t.Fatalf("ttls %v", c)
				}
				if _, err := os.Stat(filepath.Join(dir, tmpPrefix+filepath.Base(p))); !os.IsNotExist(err) {
					t.Fatal("temporary file left behind")
				}
			})
		}
	}
}

func TestSnapshotOfEmptyTreeMatchesZooKeeperLayout(t *testing.T) {
	dir := t.TempDir()
	tr := tree.New()
	p, err := WriteSnapshot(dir, tr, noLock{}, SnapWriteOptions{Digest: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	// ZooKeeper 3.8's snapshot.0 of an empty database is 457 bytes.
	if got := fileSize(t, p); got != 457 {
		t.Fatalf("snapshot.0 is %d bytes, want 457", got)
	}
	p2, _ := WriteSnapshot(t.TempDir(), tr, noLock{}, SnapWriteOptions{Digest: true, LastZxid: true, NoSync: true})
	if got := fileSize(t, p2); got != 457+8+13 {
		t.Fatalf("3.9 layout is %d bytes", got)
	}
}

func TestSnapshotSectionVariants(t *testing.T) {
	base := func(t *testing.T) ([]byte, *tree.DataTree) {
		tr := richTree(t)
		dir := t.TempDir()
		p, err := WriteSnapshot(dir, tr, noLock{}, SnapWriteOptions{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		return b, tr
	}
	seal := func(b []byte) []byte {
		var e jute.Encoder
		e.Long(int64(adler32Of(b)))
		e.String("/")
		return append(b, e.Bytes()...)
	}
	t.Run("legacy hex digest", func(t *testing.T) {
		b, tr := base(t)
		var e jute.Encoder
		e.Long(tr.LastProcessedZxid)
		e.Int(1)
		e.String("1f2e")
		b = seal(append(b, e.Bytes()...))
		sf, err := ReadSnapshot(bytes.NewReader(b), "", SnapReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sf.Digest == nil || sf.Digest.Version != 1 || sf.Digest.Digest != 0x1f2e {
			t.Fatalf("digest %+v", sf.Digest)
		}
	})
	t.Run("empty digest", func(t *testing.T) {
		b, _ := base(t)
		var e jute.Encoder
		e.Long(0)
		e.Int(2)
		e.Long(0)
		b = seal(append(b, e.Bytes()...))
		sf, err := ReadSnapshot(bytes.NewReader(b), "", SnapReadOptions{})
		if err != nil || !sf.DigestSection || sf.Digest != nil {
			t.Fatalf("err %v section %v digest %+v", err, sf != nil && sf.DigestSection, sf)
		}
	})
	t.Run("bad digest seal", func(t *testing.T) {
		b, _ := base(t)
		var e jute.Encoder
		e.Long(5)
		e.Int(2)
		e.Long(77)
		e.Long(12345)
		e.String("/")
		b = append(b, e.Bytes()...)
		if _, err := ReadSnapshot(bytes.NewReader(b), "", SnapReadOptions{}); err == nil {
			t.Fatal("a digest section with a bad seal was accepted")
		}
	})
	t.Run("bad first seal", func(t *testing.T) {
		b, _ := base(t)
		b[len(b)-6] ^= 1 // in the checksum of seal 1
		if _, err := ReadSnapshot(bytes.NewReader(b), "", SnapReadOptions{}); err == nil || !strings.Contains(err.Error(), "CRC") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSnappyFraming(t *testing.T) {
	var buf bytes.Buffer
	w := newSnappyWriter(&buf)
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160000 bytes: 5 blocks
	w.Write(data[:1000])
	w.Write(data[1000:])
	w.Close()
	b := buf.Bytes()
	if !bytes.Equal(b[:16], []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}) {
		t.Fatalf("header %x", b[:16])
	}
	// Two streams back to back read as one, as snappy-java reads them.
	b = append(b, b...)
	r, err := newSnappyReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), append(data, data...)) {
		t.Fatalf("round trip lost data: %d bytes", out.Len())
	}
}

// TestTruncatedSnapshotsFallBack cuts the newest snapshot at every byte:
// restore must skip it and use the previous one plus the logs.
func TestTruncatedSnapshotsFallBack(t *testing.T) {
	for _, comp := range []string{CompressNone, CompressGzip, CompressSnappy} {
		t.Run("compression="+comp, func(t *testing.T) {
			o := testOptions(t)
			o.Compression = comp
			o.PreAllocSize = 64 << 10
			st, _ := openRestored(t, o)
			g := newGen(7)
			var txns []*wire.Txn
			for i := 0; i < 40; i++ {
				txns = append(txns, g.next())
			}
			writeTxns(t, st.Log(), txns)
			st.Log().Roll()
			newest, err := st.Snapshot(g.t, noLock{})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			pristine, _ := os.ReadFile(newest)
			step := 1
			if len(pristine) > 3000 {
				step = len(pristine) / 1500
			}
			for cut := 0; cut < len(pristine); cut += step {
				os.WriteFile(newest, pristine[:cut], 0o644)
				st2, err := Open(o)
				if err != nil {
					t.Fatal(err)
				}
				tr, err := st2.Restore()
				if err != nil {
					t.Fatalf("cut at %d: %v", cut, err)
				}
				if d := diffTrees(tr, g.t); d != "" {
					t.Fatalf("cut at %d:\n%s", cut, d)
				}
				// A cut right after a seal leaves a complete snapshot of an
				// older layout (no 3.9 section, or no digest): still usable.
				info := st2.LastRestore()
				older := strings.HasPrefix(filepath.Base(info.Snapshot), "snapshot.0") && info.Replayed == 40
				sealed := info.Snapshot == newest && info.Replayed == 0 && bytes.HasSuffix(pristine[:cut], []byte{0, 0, 0, 1, '/'})
				if !older && !sealed {
					t.Fatalf("cut at %d: %+v", cut, info)
				}
			}
		})
	}
}

// TestFuzzySnapshotWhileApplying takes a snapshot while another goroutine
// applies (and logs) txns: the snapshot plus the logged txns after its
// zxid must rebuild exactly the live tree.
func TestFuzzySnapshotWhileApplying(t *testing.T) {
	for round := 0; round < 5; round++ {
		o := testOptions(t)
		o.PreAllocSize = 1 << 20
		st, _ := openRestored(t, o)
		g := newGen(int64(100 + round))
		var mu sync.Mutex
		w := st.Log()
		// A base of nodes so the walk takes a while.
		var batch []*wire.Txn
		for i := 0; i < 5000; i++ {
			batch = append(batch, g.next())
		}
		writeTxns(t, w, batch)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				txn := g.next()
				mu.Unlock()
				if err := w.Append(txn); err != nil {
					t.Error(err)
					return
				}
				if i%16 == 0 {
					if err := w.Commit(); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
		time.Sleep(2 * time.Millisecond)
		w.Roll()
		p, err := st.Snapshot(g.t, &mu)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		close(stop)
		<-done
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		st.Close()
		sf, err := ReadSnapshotFile(p, SnapReadOptions{ExtendedTypes: true})
		if err != nil {
			t.Fatal(err)
		}
		st2, _ := Open(o)
		tr, err := st2.Restore()
		if err != nil {
			t.Fatal(err)
		}
		info := st2.LastRestore()
		if info.Snapshot != p || info.DigestErrors != 0 {
			t.Fatalf("restore %+v", info)
		}
		if d := diffTrees(tr, g.t); d != "" {
			t.Fatalf("round %d (snapshot zxid %x, digest zxid %x, end %x):\n%s", round, sf.Zxid, sf.Digest.Zxid, g.zxid, d)
		}
		if tr.LastProcessedZxid != g.zxid {
			t.Fatalf("zxid %x, want %x", tr.LastProcessedZxid, g.zxid)
		}
		t.Logf("round %d: snapshot at %x, digest at %x, replayed %d up to %x", round, sf.Zxid, sf.Digest.Zxid, info.Replayed, g.zxid)
	}
}

func TestRestoreEmptyAndTrustEmpty(t *testing.T) {
	o := testOptions(t)
	st, _ := Open(o)
	tr, err := st.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if tr.NodeCount() != 4 || tr.LastProcessedZxid != 0 {
		t.Fatalf("fresh tree: %d nodes, zxid %d", tr.NodeCount(), tr.LastProcessedZxid)
	}
	if _, err := os.Stat(filepath.Join(st.SnapDir(), "snapshot.0")); err != nil {
		t.Fatal("snapshot.0 not written")
	}
	g := newGen(8)
	var txns []*wire.Txn
	for i := 0; i < 10; i++ {
		txns = append(txns, g.next())
	}
	writeTxns(t, st.Log(), txns)
	st.Close()
	os.Remove(filepath.Join(st.SnapDir(), "snapshot.0"))
	st2, _ := Open(o)
	if _, err := st2.Restore(); err == nil || !strings.Contains(err.Error(), "no snapshot") {
		t.Fatalf("logs without snapshot: err = %v", err)
	}
	o.TrustEmpty = true
	st3, _ := Open(o)
	tr, err = st3.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if d := diffTrees(tr, g.t); d != "" {
		t.Fatal(d)
	}
}

func TestRestoreReportsDigestMismatch(t *testing.T) {
	o := testOptions(t)
	st, _ := Open(o)
	st.Restore()
	g := newGen(9)
	var txns []*wire.Txn
	for i := 0; i < 20; i++ {
		txns = append(txns, g.next())
	}
	for _, x := range txns[10:] {
		if x.Digest != nil {
			x.Digest.TreeDigest++
		}
	}
	writeTxns(t, st.Log(), txns)
	st.Close()
	st2, _ := Open(o)
	tr, err := st2.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if st2.LastRestore().DigestErrors == 0 {
		t.Fatal("digest mismatches not counted")
	}
	if d := diffTrees(tr, g.t); d != "" {
		t.Fatal(d)
	}
}

func TestOpenChecksDirectories(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(b, VersionDir), 0o755)
	os.WriteFile(filepath.Join(b, VersionDir, "snapshot.5"), []byte("x"), 0o644)
	if _, err := Open(Options{DataDir: a, DataLogDir: b}); err == nil {
		t.Fatal("snapshots in the log dir accepted")
	}
	if _, err := Open(Options{DataDir: a, Compression: "lz4"}); err == nil {
		t.Fatal("unknown compression accepted")
	}
	os.WriteFile(filepath.Join(a, VersionDir, "tmp.snapshot.9"), []byte("x"), 0o644)
	if _, err := Open(Options{DataDir: a}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(a, VersionDir, "tmp.snapshot.9")); !os.IsNotExist(err) {
		t.Fatal("stale temporary snapshot kept")
	}
}

func TestOptionsFromProps(t *testing.T) {
	props := map[string]string{
		"zookeeper.preAllocSize": "1024", "zookeeper.forceSync": "no",
		"zookeeper.fsync.warningthresholdms": "50", "zookeeper.digest.enabled": "false",
		"zookeeper.snapshot.compression.method": "GZ", "jute.maxbuffer": "4096",
		"zookeeper.snapshot.trust.empty": "true", "zookeeper.txnLogSizeLimitInKb": "10",
	}
	o := OptionsFromProps("d", "", func(k string) (string, bool) { v, ok := props[k]; return v, ok })
	want := Options{DataDir: "d", PreAllocSize: 1 << 20, ForceSync: false, FsyncWarn: 50 * time.Millisecond,
		TxnLogSizeLimit: 10240, DigestEnabled: false, SerializeLastZxid: true, TrustEmpty: true, Compression: "gz", MaxRecord: 8192}
	o.Log = want.Log
	if o.PreAllocSize != want.PreAllocSize || o.ForceSync || o.FsyncWarn != want.FsyncWarn || o.TxnLogSizeLimit != want.TxnLogSizeLimit ||
		o.DigestEnabled || !o.SerializeLastZxid || !o.TrustEmpty || o.Compression != "gz" || o.MaxRecord != 8192 {
		t.Fatalf("got %+v", o)
	}
	d := OptionsFromProps("d", "", func(string) (string, bool) { return "", false })
	if !d.ForceSync || !d.DigestEnabled || d.PreAllocSize != DefaultPreAllocSize || d.MaxRecord != DefaultMaxRecord {
		t.Fatalf("defaults %+v", d)
	}
}
