package tree

import (
	"errors"
	"hash/adler32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkd/jute"
	"zkd/wire"
)

// Golden checks against a real ZooKeeper 3.8: it runs a workload, then
// its txn log (every entry carries the tree digest after the txn) is
// replayed over our tree, and the snapshot it writes at its next start
// is read with ReadSnapshot and compared, digest section included.

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

type oneHost struct{ addr string }

func (h *oneHost) Init(servers []string) error { h.addr = servers[0]; return nil }
func (h *oneHost) Len() int                    { return 1 }
func (h *oneHost) Next() (string, bool)        { return h.addr, false }
func (h *oneHost) Connected()                  {}

func connectZK(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 20*time.Second, zk.WithLogger(quietLogger{}), zk.WithHostProvider(&oneHost{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-timeout:
			t.Fatal("no session")
		}
	}
}

// zkWorkload exercises every txn type ZooKeeper logs for clients:
// creates of every mode, setData, setACL, deletes, multis that succeed
// and fail, errors, quotas, sessions with ephemerals (one closed, one
// left open for the snapshot).
func zkWorkload(t *testing.T, addr string) (kept *zk.Conn) {
	s1 := connectZK(t, addr)
	s2 := connectZK(t, addr)
	if err := s1.AddAuth("digest", []byte("user:pass")); err != nil {
		t.Fatal(err)
	}
	world := zk.WorldACL(zk.PermAll)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	create := func(c *zk.Conn, p string, data []byte, flags int32, acl []zk.ACL) string {
		t.Helper()
		got, err := c.Create(p, data, flags, acl)
		must(err)
		return got
	}
	create(s1, "/app", []byte("a"), 0, world)
	for range 3 {
		create(s1, "/app/seq-", []byte("s"), zk.FlagSequence, world)
	}
	create(s1, "/app/eph", []byte("e1"), zk.FlagEphemeral, world)
	create(s2, "/app/eph2-", nil, zk.FlagEphemeralSequential, zk.DigestACL(zk.PermAll, "user", "pass"))
	create(s2, "/app/eph3", []byte{}, zk.FlagEphemeral, world)
	_, err := s1.CreateContainer("/ctr", []byte("c"), zk.FlagContainer, world)
	must(err)
	create(s1, "/ctr/child", nil, 0, world)
	_, err = s1.CreateTTL("/ttl", []byte("t"), zk.FlagTTL, world, time.Hour)
	must(err)
	_, err = s1.Set("/app", []byte("a2"), 0)
	must(err)
	_, err = s1.Set("/app", nil, -1)
	must(err)
	_, err = s1.SetACL("/app", append(zk.DigestACL(zk.PermAll, "user", "pass"), zk.WorldACL(zk.PermRead)...), 0)
	must(err)
	_, err = s1.SetACL("/ttl", zk.WorldACL(zk.PermRead|zk.PermWrite), -1)
	must(err)
	must(s1.Delete("/app/seq-0000000000", -1))
	must(s1.Delete("/ctr/child", -1))
	_, err = s1.Multi(
		&zk.CreateRequest{Path: "/m", Data: []byte("m"), Acl: world},
		&zk.CreateRequest{Path: "/m/n", Data: nil, Acl: zk.WorldACL(zk.PermRead), Flags: zk.FlagSequence},
		&zk.SetDataRequest{Path: "/m", Data: []byte("mm"), Version: 0},
		&zk.CheckVersionRequest{Path: "/m", Version: 1},
		&zk.DeleteRequest{Path: "/app/seq-0000000001", Version: -1},
	)
	must(err)
	// A failed multi is logged with the ops before the failure as they
	// were and ErrorTxns after: nothing of it applies.
	if _, err := s1.Multi(
		&zk.CreateRequest{Path: "/m2", Acl: world},
		&zk.CreateRequest{Path: "/app", Acl: world},
		&zk.SetDataRequest{Path: "/m", Data: []byte("x"), Version: -1},
	); !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("failed multi: %v", err)
	}
	// Errors are logged as ErrorTxn, without a digest.
	if _, err := s1.Create("/app", nil, 0, world); !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if _, err := s1.Set("/app", nil, 99); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("bad version: %v", err)
	}
	// A quota on /app, as setquota writes it.
	create(s1, QuotaPath+"/app", nil, 0, world)
	create(s1, QuotaPath+"/app/"+QuotaLimitNode, []byte("count=10,bytes=-1"), 0, world)
	create(s1, QuotaPath+"/app/"+QuotaStatNode, []byte("count=0,bytes=0"), 0, world)
	create(s1, "/app/q", []byte("under quota"), 0, world)
	_, err = s1.Set("/app/q", []byte("changed under quota"), -1)
	must(err)
	// Delete and create again, the pattern that makes replays tricky.
	must(s1.Delete("/app/q", -1))
	create(s1, "/app/q", []byte("again"), 0, world)
	s2.Close() // closeSession names its two ephemerals
	return s1
}

// readTxnLogs reads every log.* file of a version-2 directory, in zxid
// order, checking each record's Adler32, and returns the txn entries.
func readTxnLogs(t *testing.T, dir string) [][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "log.*"))
	slices.SortFunc(files, func(a, b string) int { return int(zxidOf(a) - zxidOf(b)) })
	var out [][]byte
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		s := jute.NewStream(f, 1<<21)
		var fh jute.FileHeader
		if err := s.Decode(fh.Decode); err != nil || fh.Magic != 0x5A4B4C47 || fh.Version != 2 || fh.DBID != 0 {
			t.Fatalf("%s: header %+v %v", name, fh, err)
		}
		for {
			var sum int64
			var entry []byte
			var end byte
			err := s.Decode(func(d *jute.Decoder) {
				sum = d.Long()
				entry = d.BufferAlias()
				if sum == 0 && len(entry) == 0 {
					return // preallocated zeros: the end of the log
				}
				end = d.Byte()
			})
			if err == io.EOF || err == io.ErrUnexpectedEOF || (err == nil && sum == 0 && len(entry) == 0) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if end != 'B' || uint32(sum) != adler32.Checksum(entry) || sum>>32 != 0 {
				t.Fatalf("%s: record end %x checksum %x", name, end, sum)
			}
			out = append(out, slices.Clone(entry))
		}
		f.Close()
	}
	return out
}

func zxidOf(name string) int64 {
	i := strings.LastIndexByte(name, '.')
	v, _ := strconv.ParseInt(name[i+1:], 16, 64)
	return v
}

type zkSnapshot struct {
	tree       *DataTree
	zxid       int64 // from the file name
	digestZxid int64
	digestVer  int32
	digest     int64
}

// newestSnapshot returns the snapshot file with the highest zxid.
func newestSnapshot(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "snapshot.*"))
	if len(files) == 0 {
		t.Fatal("no snapshot")
	}
	slices.SortFunc(files, func(a, b string) int { return int(zxidOf(a) - zxidOf(b)) })
	return files[len(files)-1]
}

// readZKSnapshot reads a snapshot file: FileHeader, the stream through
// ReadSnapshot, Seal 1, the digest section and Seal 2 (§6.2).
func readZKSnapshot(t *testing.T, name string) zkSnapshot {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := adler32.New()
	s := jute.NewStream(f, 1<<21)
	s.Hash = h
	var fh jute.FileHeader
	if err := s.Decode(fh.Decode); err != nil || fh.Magic != 0x5A4B534E || fh.Version != 2 || fh.DBID != -1 {
		t.Fatalf("%s: header %+v %v", name, fh, err)
	}
	tr, err := ReadSnapshot(s)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	seal := func() {
		t.Helper()
		want := h.Sum32()
		var sum int64
		var slash string
		if err := s.Decode(func(d *jute.Decoder) { sum = d.Long(); slash = d.String() }); err != nil {
			t.Fatal(err)
		}
		if uint32(sum) != want || sum>>32 != 0 || slash != "/" {
			t.Fatalf("seal %x %q, want %x", sum, slash, want)
		}
	}
	seal()
	out := zkSnapshot{tree: tr, zxid: zxidOf(name)}
	if err := s.Decode(func(d *jute.Decoder) {
		out.digestZxid = d.Long()
		out.digestVer = d.Int()
		out.digest = d.Long()
	}); err != nil {
		t.Fatal(err)
	}
	seal()
	if err := s.Decode(func(d *jute.Decoder) { d.Byte() }); err != io.EOF {
		t.Fatalf("bytes after the second seal: %v", err)
	}
	return out
}

func TestZooKeeperLogAndSnapshotDigests(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	z := startZooKeeper(t, dataDir, "extendedTypesEnabled=true")
	kept := zkWorkload(t, z.Addr)
	z.Stop()
	kept.Close()
	entries := readTxnLogs(t, filepath.Join(dataDir, "version-2"))
	// Restart: ZooKeeper loads the log and writes a snapshot of it all.
	z2 := startZooKeeper(t, dataDir, "extendedTypesEnabled=true")
	z2.Stop()
	snapFile := newestSnapshot(t, filepath.Join(dataDir, "version-2"))
	if os.Getenv("ZKD_UPDATE_GOLDEN") != "" {
		var e jute.Encoder
		for _, b := range entries {
			e.Buffer(b)
		}
		snap, err := os.ReadFile(snapFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join("testdata", "zk38"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "zk38", "txns.bin"), e.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "zk38", filepath.Base(snapFile)), snap, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkZKGolden(t, entries, snapFile)
}

// TestZooKeeperGoldenFiles runs the same checks over a log and snapshot
// stored from a ZooKeeper 3.8 run, so they hold without Java too.
func TestZooKeeperGoldenFiles(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "zk38", "txns.bin"))
	if err != nil {
		t.Skip("no stored log")
	}
	var entries [][]byte
	d := jute.NewDecoder(b)
	for d.Remaining() > 0 {
		entries = append(entries, d.Buffer())
	}
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	checkZKGolden(t, entries, newestSnapshot(t, filepath.Join("testdata", "zk38")))
}

// checkZKGolden replays ZooKeeper's txn entries over a fresh tree,
// comparing the digest after each with the one ZooKeeper logged, then
// reads ZooKeeper's snapshot of the same state and compares trees and
// digests.
func checkZKGolden(t *testing.T, entries [][]byte, snapFile string) {
	if len(entries) < 30 {
		t.Fatalf("only %d txns logged", len(entries))
	}
	txns := make([]wire.Txn, len(entries))
	for i, b := range entries {
		x, err := wire.DecodeTxn(b)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if got := jute.Marshal(&x); !slices.Equal(got, b) {
			t.Fatalf("entry %d (%v) re-encodes differently:\n%x\n%x", i, x.Type(), got, b)
		}
		txns[i] = x
	}
	tr := New()
	tr.ExtendedTypes = true
	types := map[wire.OpCode]int{}
	checked := 0
	for i := range txns {
		x := &txns[i]
		types[x.Type()]++
		r := tr.ProcessTxn(x)
		if x.Type() == wire.OpError {
			if x.Digest != nil {
				t.Errorf("zxid %x: ErrorTxn with a digest", x.Header.Zxid)
			}
			continue
		}
		if r.Err != wire.ErrOK && !isFailedMulti(x) {
			t.Fatalf("zxid %x %v: %v", x.Header.Zxid, x.Type(), r.Err)
		}
		if x.Digest == nil {
			t.Fatalf("zxid %x %v: no digest", x.Header.Zxid, x.Type())
		}
		if x.Digest.Version != wire.DigestVersion || x.Digest.TreeDigest != tr.Digest() {
			t.Fatalf("zxid %x %v: ZooKeeper's digest %d (v%d), ours %d", x.Header.Zxid, x.Type(),
				x.Digest.TreeDigest, x.Digest.Version, tr.Digest())
		}
		checked++
	}
	for _, op := range []wire.OpCode{wire.OpCreateSession, wire.OpCloseSession, wire.OpCreate, wire.OpCreateContainer,
		wire.OpCreateTTL, wire.OpSetData, wire.OpSetACL, wire.OpDelete, wire.OpMulti, wire.OpError} {
		if types[op] == 0 {
			t.Errorf("no %v txn in ZooKeeper's log: %v", op, types)
		}
	}
	checkInvariants(t, tr)
	t.Logf("%d txns, %d digests checked", len(txns), checked)

	snap := readZKSnapshot(t, snapFile)
	last := txns[len(txns)-1].Header.Zxid
	if snap.zxid != last || snap.digestZxid != last || snap.digestVer != 2 {
		t.Fatalf("snapshot.%x digest zxid %x v%d, last txn %x", snap.zxid, snap.digestZxid, snap.digestVer, last)
	}
	read := snap.tree
	read.ExtendedTypes = true
	read.Finish()
	if read.Digest() != snap.digest {
		t.Fatalf("digest of the tree read %d, the file says %d", read.Digest(), snap.digest)
	}
	if tr.Digest() != snap.digest {
		t.Fatalf("our replayed digest %d, ZooKeeper's snapshot %d", tr.Digest(), snap.digest)
	}
	checkInvariants(t, read)
	// Everything, ZooKeeper's own nodes included (empty data, aversion -1
	// on /zookeeper/config).
	requireSameTree(t, read, tr)
	if len(read.Sessions) != 1 || read.EphemeralCount() != 1 {
		t.Fatalf("sessions %v, %d ephemerals", read.Sessions, read.EphemeralCount())
	}
	if s := read.QuotaStats("/app").String(); s != "count=4,bytes=8" {
		t.Fatalf("quota stats %q", s)
	}
	// And our stream of the same tree reads back the same.
	requireSameTree(t, roundTrip(t, read), tr)
}
