package persistence

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"zkd/wire"
)

func TestPurge(t *testing.T) {
	valid := []byte{0x5A, 0x4B, 0x53, 0x4E, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, '/'}
	tests := []struct {
		name      string
		separate  bool
		logs      []string
		snaps     map[string][]byte
		retain    int
		remaining []string
	}{
		{
			name:   "keeps the log the oldest retained snapshot needs",
			logs:   []string{"log.1", "log.10", "log.20", "log.30"},
			snaps:  map[string][]byte{"snapshot.0": valid, "snapshot.5": valid, "snapshot.15": valid, "snapshot.25": valid, "snapshot.35": valid},
			retain: 3,
			remaining: []string{"log.10", "log.20", "log.30",
				"snapshot.15", "snapshot.25", "snapshot.35"},
		},
		{
			name:     "separate log dir, invalid newest snapshot, compressed names",
			separate: true,
			logs:     []string{"log.1", "log.10", "log.20", "log.30"},
			snaps: map[string][]byte{"snapshot.0": valid, "snapshot.5": valid, "snapshot.15.gz": {0x1f, 0x8b, 1},
				"snapshot.25": valid, "snapshot.35": valid, "snapshot.40": []byte("garbage")},
			retain: 3,
			remaining: []string{"log.10", "log.20", "log.30",
				"snapshot.15.gz", "snapshot.25", "snapshot.35", "snapshot.40"},
		},
		{
			name:      "a log starting exactly at the snapshot",
			logs:      []string{"log.1", "log.16", "log.20"},
			snaps:     map[string][]byte{"snapshot.0": valid, "snapshot.16": valid, "snapshot.17": valid, "snapshot.18": valid},
			retain:    3,
			remaining: []string{"log.16", "log.20", "snapshot.16", "snapshot.17", "snapshot.18"},
		},
		{
			name:      "fewer snapshots than retained",
			logs:      []string{"log.1"},
			snaps:     map[string][]byte{"snapshot.0": valid},
			retain:    5,
			remaining: []string{"log.1", "snapshot.0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := t.TempDir()
			logDir := dataDir
			if tc.separate {
				logDir = t.TempDir()
			}
			for _, d := range []string{dataDir, logDir} {
				os.MkdirAll(filepath.Join(d, VersionDir), 0o755)
			}
			for _, l := range tc.logs {
				os.WriteFile(filepath.Join(logDir, VersionDir, l), []byte("x"), 0o644)
			}
			for s, b := range tc.snaps {
				os.WriteFile(filepath.Join(dataDir, VersionDir, s), b, 0o644)
			}
			// Unrelated files are never touched.
			os.WriteFile(filepath.Join(dataDir, VersionDir, "acceptedEpoch"), []byte("1"), 0o644)
			ld := logDir
			if !tc.separate {
				ld = ""
			}
			if _, err := Purge(dataDir, ld, tc.retain); err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, d := range []string{dataDir, logDir} {
				ents, _ := os.ReadDir(filepath.Join(d, VersionDir))
				for _, e := range ents {
					if e.Name() != "acceptedEpoch" {
						left = append(left, e.Name())
					}
				}
				if !tc.separate {
					break
				}
			}
			sort.Strings(left)
			sort.Strings(tc.remaining)
			if !reflect.DeepEqual(left, tc.remaining) {
				t.Fatalf("left %v\nwant %v", left, tc.remaining)
			}
			if _, err := os.Stat(filepath.Join(dataDir, VersionDir, "acceptedEpoch")); err != nil {
				t.Fatal("purge removed an unrelated file")
			}
		})
	}
	if _, err := Purge(t.TempDir(), "", 2); err == nil {
		t.Fatal("retain < 3 accepted")
	}
}

// TestPurgeThenRestore: after purging, the data dir still restores to the
// same tree.
func TestPurgeThenRestore(t *testing.T) {
	o := testOptions(t)
	o.PreAllocSize = 64 << 10
	st, _ := Open(o)
	st.Restore()
	g := newGen(11)
	for round := 0; round < 6; round++ {
		var b []*wire.Txn
		for i := 0; i < 30; i++ {
			b = append(b, g.next())
		}
		writeTxns(t, st.Log(), b)
		if round < 5 {
			st.Log().Roll()
			if _, err := st.Snapshot(g.t, noLock{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	st.Close()
	removed, err := Purge(o.DataDir, o.DataLogDir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 5 { // three snapshots, two logs (log.3d stays: it starts before snapshot.5a)
		t.Fatalf("removed %v", removed)
	}
	st2, _ := Open(o)
	tr, err := st2.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if d := diffTrees(tr, g.t); d != "" {
		t.Fatal(d)
	}
	if r := Verify(o.DataDir, o.DataLogDir, o); r.Errors != 0 {
		t.Fatalf("verify after purge: %+v", r.Findings)
	}
}
