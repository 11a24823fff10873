package persistence

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

// buildDataDir writes a data dir with a few snapshots (one fuzzy) and logs.
func buildDataDir(t *testing.T) (Options, *txnGen) {
	o := testOptions(t)
	o.PreAllocSize = 64 << 10
	st, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	st.Restore()
	g := newGen(12)
	for round := 0; round < 3; round++ {
		var b []*wire.Txn
		for i := 0; i < 25; i++ {
			b = append(b, g.next())
		}
		writeTxns(t, st.Log(), b)
		st.Log().Roll()
		if _, err := st.Snapshot(g.t, noLock{}); err != nil {
			t.Fatal(err)
		}
	}
	var b []*wire.Txn
	for i := 0; i < 25; i++ {
		b = append(b, g.next())
	}
	writeTxns(t, st.Log(), b)
	st.Close()
	return o, g
}

func findingsText(r *VerifyReport) string {
	var s []string
	for _, f := range r.Findings {
		s = append(s, f.Sev.String()+" "+filepath.Base(f.File)+": "+f.Msg)
	}
	return strings.Join(s, "\n")
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, o Options)
		errors  bool
		warns   bool
		message string
	}{
		{name: "clean"},
		{
			name: "flipped byte in a log",
			damage: func(t *testing.T, o Options) {
				p := filepath.Join(o.DataLogDir, VersionDir, "log.1a")
				b, _ := os.ReadFile(p)
				b[200] ^= 1
				os.WriteFile(p, b, 0o644)
			},
			errors: true, message: "CRC",
		},
		{
			name: "torn tail of the last log",
			damage: func(t *testing.T, o Options) {
				p := filepath.Join(o.DataLogDir, VersionDir, "log.4c")
				offs := recordOffsets(t, p)
				os.Truncate(p, offs[len(offs)-1]-3)
			},
			warns: true, message: "restore truncates",
		},
		{
			name: "missing log",
			damage: func(t *testing.T, o Options) {
				os.Remove(filepath.Join(o.DataLogDir, VersionDir, "log.33"))
				os.Remove(filepath.Join(o.DataDir, VersionDir, "snapshot.4b"))
			},
			errors: true, message: "no snapshot covers the gap",
		},
		{
			name: "snapshot digest differs from its tree",
			damage: func(t *testing.T, o Options) {
				p := filepath.Join(o.DataDir, VersionDir, "snapshot.4b")
				sf, err := ReadSnapshotFile(p, SnapReadOptions{ExtendedTypes: true})
				if err != nil {
					t.Fatal(err)
				}
				// Rewrite it with a node changed behind the digest's back.
				tr := sf.Tree
				tr.LastProcessedZxid = 0x4b
				var n string
				tr.Walk(func(p string, _ *tree.Node) bool {
					// Nodes under /zookeeper do not count in the digest.
					if p != "" && p != "/" && p != "/zookeeper" && !strings.HasPrefix(p, "/zookeeper/") {
						n = p
					}
					return true
				})
				tr.Node(n).Stat.Mtime++
				os.Remove(p)
				if _, err := WriteSnapshot(filepath.Dir(p), tr, noLock{}, SnapWriteOptions{NoSync: true}); err != nil {
					t.Fatal(err)
				}
				// Append a digest section with the old (now wrong) digest.
				b, _ := os.ReadFile(p)
				var e jute.Encoder
				e.Long(sf.Digest.Zxid)
				e.Int(2)
				e.Long(sf.Digest.Digest)
				b = append(b, e.Bytes()...)
				e.Reset()
				e.Long(int64(adler32Of(b)))
				e.String("/")
				os.WriteFile(p, append(b, e.Bytes()...), 0o644)
			},
			errors: true, warns: true, message: "replay after snapshot.4b: 23 digest mismatches",
		},
		{
			// ZooKeeper 3.8 sometimes stores a digest of no actual state in
			// a fuzzy snapshot; its nodes are right, so replay agrees with
			// every txn digest after it and restore serves the right tree.
			name: "snapshot with a wrong digest but the right nodes",
			damage: func(t *testing.T, o Options) {
				p := filepath.Join(o.DataDir, VersionDir, "snapshot.4b")
				sf, err := ReadSnapshotFile(p, SnapReadOptions{ExtendedTypes: true})
				if err != nil {
					t.Fatal(err)
				}
				tr := sf.Tree
				tr.LastProcessedZxid = 0x4b
				os.Remove(p)
				if _, err := WriteSnapshot(filepath.Dir(p), tr, noLock{}, SnapWriteOptions{NoSync: true}); err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(p)
				var e jute.Encoder
				e.Long(sf.Digest.Zxid)
				e.Int(2)
				e.Long(sf.Digest.Digest + 12345)
				b = append(b, e.Bytes()...)
				e.Reset()
				e.Long(int64(adler32Of(b)))
				e.String("/")
				os.WriteFile(p, append(b, e.Bytes()...), 0o644)
			},
			warns: true, message: "digest mismatch",
		},
		{
			name: "truncated snapshot",
			damage: func(t *testing.T, o Options) {
				p := filepath.Join(o.DataDir, VersionDir, "snapshot.32")
				os.Truncate(p, 100)
			},
			errors: true, message: "validity check",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := buildDataDir(t)
			if tc.damage != nil {
				tc.damage(t, o)
			}
			r := Verify(o.DataDir, o.DataLogDir, o)
			text := findingsText(r)
			if (r.Errors > 0) != tc.errors || (r.Warnings > 0) != tc.warns {
				t.Fatalf("errors %d warnings %d:\n%s", r.Errors, r.Warnings, text)
			}
			if tc.message != "" && !strings.Contains(text, tc.message) {
				t.Fatalf("no %q in:\n%s", tc.message, text)
			}
		})
	}
}
