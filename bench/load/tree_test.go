package load

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTreeShapeAndPaths(t *testing.T) {
	tr := TreeFor("/t", 1000000, 100)
	if tr.Fanout != [3]int{100, 100, 100} || tr.Leaves() != 1000000 || tr.Nodes() != 1010101 {
		t.Fatalf("1M tree: %+v leaves %d nodes %d", tr.Fanout, tr.Leaves(), tr.Nodes())
	}
	if got := string(tr.appendPath(nil, 0, 7)); got != "/t/n07" {
		t.Errorf("level 1 node 7: %q", got)
	}
	if got := string(tr.appendPath(nil, 1, 1234)); got != "/t/n12/n34" {
		t.Errorf("level 2 node 1234: %q", got)
	}
	if got := tr.LastLeaf(); got != "/t/n99/n99/n99" {
		t.Errorf("last leaf %q", got)
	}
	small := TreeFor("/t", 100000, 100)
	if small.Fanout != [3]int{100, 100, 10} || small.LastLeaf() != "/t/n99/n99/n9" {
		t.Errorf("100k tree: %+v %s", small.Fanout, small.LastLeaf())
	}
	if c := TreeFor("/t", 1000, 1); c.Fanout != [3]int{10, 10, 10} {
		t.Errorf("1000-leaf tree: %+v", c.Fanout)
	}
}

func TestAppendKey(t *testing.T) {
	if got := keyName("/a/k", 42, 7); got != "/a/k0000042" {
		t.Errorf("got %q", got)
	}
	if got := keyName("/a/k", 12345678, 3); got != "/a/k12345678" {
		t.Errorf("got %q", got)
	}
}

func TestNewestFileByZxid(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"snapshot.9": 1, "snapshot.1a": 3, "snapshot.2.snappy": 2, "log.ff": 4, "snapshot.xyz": 5} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	name, size, ok, err := NewestFile(dir, "snapshot.")
	if err != nil || !ok || filepath.Base(name) != "snapshot.1a" || size != 3 {
		t.Errorf("got %s %d %v %v", name, size, ok, err)
	}
	if _, _, ok, err := NewestFile(filepath.Join(dir, "missing"), "snapshot."); ok || err != nil {
		t.Errorf("missing dir: %v %v", ok, err)
	}
}

func TestFloors(t *testing.T) {
	h, err := FsyncFloor(t.TempDir(), 20)
	if err != nil || h.Count() != 20 {
		t.Fatalf("fsync floor: %v %v", h, err)
	}
	h, err = LoopbackFloor(50)
	if err != nil || h.Count() != 50 {
		t.Fatalf("loopback floor: %v %v", h, err)
	}
	dir := t.TempDir()
	h, err = SequenceFloor(dir, 20)
	if err != nil || h.Count() != 20 {
		t.Fatalf("sequence floor: %v %v", h, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("floor files left behind: %v", left)
	}
}

func TestSampleSelf(t *testing.T) {
	s, err := SampleProc(os.Getpid())
	if err != nil || s.RSS <= 0 {
		t.Fatalf("sample: %+v %v", s, err)
	}
}
