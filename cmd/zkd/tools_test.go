package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"zkd/jute"
	"zkd/persistence"
	"zkd/server/tree"
	"zkd/wire"
)

var openACL = []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}

// sampleDataDir writes a small data dir: snapshot.0, 30 txns, a snapshot
// and 10 more txns. It returns the dir and the newest snapshot.
func sampleDataDir(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	o := persistence.DefaultOptions(dir, "")
	o.ForceSync = false
	o.PreAllocSize = 64 << 10
	o.Log = zerolog.Nop()
	st, err := persistence.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := st.Restore()
	if err != nil {
		t.Fatal(err)
	}
	z := int64(0)
	apply := func(typ wire.OpCode, session int64, rec jute.Record) {
		z++
		txn := &wire.Txn{Header: jute.TxnHeader{ClientID: session, Cxid: int32(z), Zxid: z, Time: 1_700_000_000_000 + z, Type: int32(typ)}, Record: rec}
		if r := tr.ProcessTxn(txn); r.Err == wire.ErrOK && typ != wire.OpError {
			txn.Digest = &jute.TxnDigest{Version: 2, TreeDigest: tr.Digest()}
		}
		if err := st.Log().Append(txn); err != nil {
			t.Fatal(err)
		}
	}
	pcv := func(p string) int32 { return tr.Node(p).Stat.Cversion + 1 }
	var snap string
	apply(wire.OpCreateSession, 0x100, &jute.CreateSessionTxn{TimeOut: 30000})
	for i := 0; i < 40; i++ {
		p := fmt.Sprintf("/n%02d", i)
		switch i % 4 {
		case 0:
			apply(wire.OpCreate, 0x100, &jute.CreateTxn{Path: p, Data: []byte("data, with comma"), ACL: openACL, ParentCVersion: pcv("/")})
		case 1:
			apply(wire.OpCreate, 0x100, &jute.CreateTxn{Path: p, ACL: openACL, Ephemeral: true, ParentCVersion: pcv("/")})
		case 2:
			apply(wire.OpSetData, 0x100, &jute.SetDataTxn{Path: fmt.Sprintf("/n%02d", i-2), Data: []byte{0, 1, 2}, Version: 1})
		case 3:
			apply(wire.OpError, 0x100, &jute.ErrorTxn{Err: int32(wire.ErrNodeExists)})
		}
		if i == 29 {
			if err := st.Log().Commit(); err != nil {
				t.Fatal(err)
			}
			st.Log().Roll()
			if snap, err = st.Snapshot(tr, &sync.Mutex{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, snap
}

func runTool(t *testing.T, name string, args ...string) (int, string, string) {
	t.Helper()
	f, ok := subcommand(name)
	if !ok {
		t.Fatalf("no subcommand %s", name)
	}
	var out, errb bytes.Buffer
	code := f(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSnapshotDump(t *testing.T) {
	_, snap := sampleDataDir(t)
	code, out, errs := runTool(t, "snapshot-dump", snap)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"ZNode Details (count=", "\n/n00\n  cZxid = 0x00000000000002\n", "  ephemeralOwner = 0x00000000000100\n",
		"Session Details (sid, timeout, ephemeralCount):\n0x00000000000100, 30000, 8\n", "Last zxid: 0x"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	code, out, errs = runTool(t, "snapshot-dump", "--json", "-d", snap)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Zxid     string
		Nodes    []map[string]any
		Sessions []map[string]any
		Digest   map[string]any
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if len(doc.Nodes) != 20 || len(doc.Sessions) != 1 || doc.Digest["matchesTree"] != true {
		t.Fatalf("JSON: %d nodes, %d sessions, digest %v", len(doc.Nodes), len(doc.Sessions), doc.Digest)
	}
	if code, _, _ := runTool(t, "snapshot-dump", "/nonexistent/snapshot.1"); code != 1 {
		t.Fatalf("missing file: exit %d", code)
	}
	if code, _, _ := runTool(t, "snapshot-dump"); code != 2 {
		t.Fatalf("no args: exit %d", code)
	}
}

func TestLogDump(t *testing.T) {
	dir, _ := sampleDataDir(t)
	code, out, errs := runTool(t, "log-dump", filepath.Join(dir, "version-2", "log.1"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "ZooKeeper Transactional Log File with dbid 0 txnlog format version 2" || lines[len(lines)-1] != "EOF reached after 31 txns." || len(lines) != 33 {
		t.Fatalf("output:\n%s", out)
	}
	for _, want := range []string{"session 0x100 cxid 0x2 zxid 0x2 create '/n00,#646174612c207769746820636f6d6d61,v{s{31,s{'world,'anyone}}},F,1 2,",
		" createSession 30000 2,", " error -110 null"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

func TestVerifyTool(t *testing.T) {
	dir, _ := sampleDataDir(t)
	code, out, _ := runTool(t, "verify", dir)
	if code != 0 || !strings.Contains(out, "0 errors, 0 warnings") {
		t.Fatalf("clean dir: exit %d\n%s", code, out)
	}
	// A torn tail is a warning (restore repairs it); --strict fails on it.
	p := filepath.Join(dir, "version-2", "log.20")
	b, _ := os.ReadFile(p)
	end := bytes.LastIndexByte(bytes.TrimRight(b, "\x00"), 'B')
	os.WriteFile(p, b[:end-3], 0o644)
	if code, out, _ := runTool(t, "verify", dir); code != 0 || !strings.Contains(out, "WARN") {
		t.Fatalf("torn tail: exit %d\n%s", code, out)
	}
	if code, _, _ := runTool(t, "verify", "--strict", dir); code != 1 {
		t.Fatalf("--strict with a warning: exit %d", code)
	}
	// A flipped byte in the first log is an error.
	p = filepath.Join(dir, "version-2", "log.1")
	b, _ = os.ReadFile(p)
	b[100] ^= 0x10
	os.WriteFile(p, b, 0o644)
	if code, out, _ := runTool(t, "verify", "-q", dir); code != 1 || !strings.Contains(out, "ERROR") {
		t.Fatalf("corrupt log: exit %d\n%s", code, out)
	}
}

func TestPurgeTool(t *testing.T) {
	dir, _ := sampleDataDir(t)
	if code, _, _ := runTool(t, "purge", dir, "-n", "2"); code != 2 {
		t.Fatalf("-n 2: exit %d", code)
	}
	if code, _, _ := runTool(t, "purge", dir); code != 2 {
		t.Fatalf("no -n: exit %d", code)
	}
	if code, out, errs := runTool(t, "purge", dir, "-n", "3"); code != 0 || out != "" {
		t.Fatalf("two snapshots, keep 3: exit %d, %q %q", code, out, errs)
	}
}

// TestSnapshotDumpMatchesZooKeeper compares snapshot-dump with ZooKeeper's
// SnapshotFormatter on the same file (node blocks compared as a set: the
// Java tool walks children in hash-set order).
func TestSnapshotDumpMatchesZooKeeper(t *testing.T) {
	const jar = "/usr/share/java/zookeeper.jar"
	_, errJava := exec.LookPath("java")
	_, errJar := os.Stat(jar)
	if errJava != nil || errJar != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("java or %s missing", jar)
		}
		t.Skip("java or ZooKeeper missing")
	}
	dir, snap := sampleDataDir(t)
	// Both tools print dates in the system's zone (TZ or /etc/localtime).
	for _, f := range []string{snap, filepath.Join(dir, "version-2", "snapshot.0")} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, "java", "-cp", jar, "org.apache.zookeeper.server.SnapshotFormatter", f)
		var jout bytes.Buffer
		cmd.Stdout = &jout
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("SnapshotFormatter: %v", err)
		}
		code, out, errs := runTool(t, "snapshot-dump", f)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		a, b := dumpBlocks(jout.String()), dumpBlocks(out)
		if strings.Join(a, "\n====\n") != strings.Join(b, "\n====\n") {
			t.Fatalf("%s differs:\n--- ZooKeeper:\n%s\n--- zkd:\n%s", filepath.Base(f), jout.String(), out)
		}
	}

	// The txn lines of TxnLogToolkit start as ours do.
	logPath := filepath.Join(dir, "version-2", "log.1")
	cmd := exec.Command("java", "-cp", jar, "org.apache.zookeeper.server.persistence.TxnLogToolkit", logPath)
	jout, err := cmd.Output()
	if err != nil {
		t.Fatalf("TxnLogToolkit: %v", err)
	}
	_, out, _ := runTool(t, "log-dump", logPath)
	prefix := func(s string) []string {
		var r []string
		for _, l := range strings.Split(s, "\n") {
			if f := strings.Fields(l); len(f) >= 11 && f[4] == "session" {
				r = append(r, strings.Join(f[:11], " "))
			}
		}
		return r
	}
	if a, b := prefix(string(jout)), prefix(out); len(a) == 0 || strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("txn lines differ:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
}

// dumpBlocks splits a SnapshotFormatter dump into sorted blocks, the
// session lines sorted too; the digest line (3.9+ only) is dropped.
func dumpBlocks(s string) []string {
	var blocks []string
	for _, b := range strings.Split(s, "----\n") {
		lines := strings.Split(strings.TrimSpace(b), "\n")
		var keep []string
		for _, l := range lines {
			if !strings.HasPrefix(l, "Target zxid digest is:") {
				keep = append(keep, l)
			}
		}
		if len(keep) > 0 && strings.HasPrefix(keep[0], "Session Details") {
			sort.Strings(keep[1:])
		}
		blocks = append(blocks, strings.Join(keep, "\n"))
	}
	sort.Strings(blocks)
	return blocks
}

var _ = tree.New
