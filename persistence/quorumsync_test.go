package persistence

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTruncateDropsNewerSnapshots: after a TRUNC to z a restore must come
// back at z, so snapshots past z (they hold txns being discarded) go.
func TestTruncateDropsNewerSnapshots(t *testing.T) {
	o, _ := buildDataDir(t) // snapshots at 0x19, 0x32, 0x4b; logs to 0x64
	st, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Restore(); err != nil {
		t.Fatal(err)
	}
	if err := st.Truncate(0x40); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(o.DataDir, VersionDir, "snapshot.4b")); !os.IsNotExist(err) {
		t.Errorf("snapshot.4b survived the truncation to 0x40: %v", err)
	}
	if _, err := os.Stat(filepath.Join(o.DataDir, VersionDir, "snapshot.32")); err != nil {
		t.Errorf("snapshot.32 was removed: %v", err)
	}
	tr, err := st.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if tr.LastProcessedZxid != 0x40 {
		t.Errorf("restored at 0x%x after truncating to 0x40", tr.LastProcessedZxid)
	}
}

func TestTxnLogSyncLimit(t *testing.T) {
	o, _ := buildDataDir(t)
	st, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fi, err := os.Stat(filepath.Join(o.DataDir, VersionDir, "snapshot.4b"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.TxnLogSyncLimit(0.5), fi.Size()/2; got != want {
		t.Errorf("limit at factor 0.5: %d, want %d", got, want)
	}
	if got := st.TxnLogSyncLimit(-1); got != -1 {
		t.Errorf("limit at factor -1: %d, want -1 (log sync off)", got)
	}
	// The logs start at 0x1, 0x1a, 0x33, 0x4c: from 0x40 on, two files.
	var want int64
	for _, n := range []string{"log.33", "log.4c"} {
		fi, err := os.Stat(filepath.Join(o.DataLogDir, VersionDir, n))
		if err != nil {
			t.Fatal(err)
		}
		want += fi.Size()
	}
	if got := st.LogSizeFrom(0x40); got != want {
		t.Errorf("log size from 0x40: %d, want %d", got, want)
	}
}
