package integration

// Durability of zkd's data directory: acknowledged writes survive SIGKILL,
// a torn tail of the txn log is cut off at restart, and damage inside the
// log stops the server.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkd/internal/zkproc"
	"zkd/jute"
	"zkd/wire"
)

// crashWriter is what the server acknowledged to one writer.
type crashWriter struct {
	parent  string
	creates map[string]string // sequential node -> data, every acknowledged create
	version int32             // highest acknowledged version of parent/counter
	data    string            // the data of that setData
	// unacked counts the writes that were sent but got no reply, across
	// the cycles: each may or may not have been applied.
	unacked int
}

func TestCrashSafety(t *testing.T) {
	const writers = 16
	const cycles = 3
	p := startZkd(t, nil)
	dir, port := p.Dir, p.Port
	open := zk.WorldACL(zk.PermAll)

	ws := make([]*crashWriter, writers)
	setup := connectZk(t, p.Addr, 10*time.Second)
	if _, err := setup.Create("/crash", nil, 0, open); err != nil {
		t.Fatal(err)
	}
	for w := range ws {
		ws[w] = &crashWriter{parent: fmt.Sprintf("/crash/w%02d", w), creates: map[string]string{}}
		for _, path := range []string{ws[w].parent, ws[w].parent + "/counter"} {
			if _, err := setup.Create(path, nil, 0, open); err != nil {
				t.Fatal(err)
			}
		}
	}
	setup.Close()

	for cycle := 0; cycle < cycles; cycle++ {
		clients := make([]*zk.Conn, writers)
		for w := range clients {
			clients[w] = connectZk(t, p.Addr, 10*time.Second)
		}
		var killing atomic.Bool
		var wg sync.WaitGroup
		var acks atomic.Int64
		errs := make(chan error, writers)
		for w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, c := ws[w], clients[w]
				for i := 0; ; i++ {
					data := fmt.Sprintf("c%d-w%d-%d", cycle, w, i)
					var err error
					if i%2 == 0 {
						var path string
						path, err = c.Create(st.parent+"/s-", []byte(data), zk.FlagSequence, open)
						if err == nil {
							st.creates[path] = data
						}
					} else {
						var s *zk.Stat
						s, err = c.Set(st.parent+"/counter", []byte(data), -1)
						if err == nil {
							if s.Version <= st.version {
								errs <- fmt.Errorf("%s/counter: acknowledged version %d after %d", st.parent, s.Version, st.version)
								return
							}
							st.version, st.data = s.Version, data
						}
					}
					if err != nil {
						st.unacked++
						if !killing.Load() {
							errs <- fmt.Errorf("writer %d before the kill: %w", w, err)
						}
						return
					}
					acks.Add(1)
				}
			}()
		}
		time.Sleep(2 * time.Second)
		killing.Store(true)
		p.Kill()
		// Closing the clients fails what they still hold; nothing reaches
		// the next server.
		var cw sync.WaitGroup
		for _, c := range clients {
			cw.Add(1)
			go func() { defer cw.Done(); c.Close() }()
		}
		cw.Wait()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			t.FailNow()
		}
		t.Logf("cycle %d: %d writes acknowledged before SIGKILL", cycle, acks.Load())
		if acks.Load() < writers*10 {
			t.Fatalf("cycle %d: only %d writes acknowledged in 2s", cycle, acks.Load())
		}

		p = zkproc.StartZkd(t, zkdBin, zkproc.Config{Dir: dir, Port: port})
		checkAcknowledged(t, p.Addr, ws, cycle)
		if t.Failed() {
			t.FailNow()
		}
	}
	p.Stop()
	zkdVerify(t, p.DataDir)
}

// checkAcknowledged reads back every acknowledged write.
func checkAcknowledged(t *testing.T, addr string, ws []*crashWriter, cycle int) {
	t.Helper()
	c := connectZk(t, addr, 10*time.Second)
	defer c.Close()
	var mu sync.Mutex
	var wg sync.WaitGroup
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		t.Errorf("after restart %d: "+format, append([]any{cycle + 1}, args...)...)
	}
	for _, st := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kids, _, err := c.Children(st.parent)
			if err != nil {
				report("children %s: %v", st.parent, err)
				return
			}
			have := map[string]bool{}
			for _, k := range kids {
				have[st.parent+"/"+k] = true
			}
			var missing []string
			for path, want := range st.creates {
				if !have[path] {
					missing = append(missing, path)
					continue
				}
				got, _, err := c.Get(path)
				if err != nil || string(got) != want {
					report("%s: data %q (%v), acknowledged %q", path, got, err, want)
				}
			}
			if len(missing) > 0 {
				sort.Strings(missing)
				report("%s: %d acknowledged creates lost, e.g. %v", st.parent, len(missing), missing[:min(5, len(missing))])
			}
			// Unacknowledged creates that made it: at most the writes in
			// flight at the kills.
			extra := len(kids) - 1 - (len(st.creates) - len(missing))
			data, s, err := c.Get(st.parent + "/counter")
			if err != nil {
				report("get %s/counter: %v", st.parent, err)
				return
			}
			switch {
			case s.Version < st.version:
				report("%s/counter: version %d, acknowledged %d (data %q, acknowledged %q)", st.parent, s.Version, st.version, data, st.data)
			case s.Version == st.version && string(data) != st.data:
				report("%s/counter: version %d holds %q, acknowledged %q", st.parent, s.Version, data, st.data)
			}
			if more := extra + int(s.Version-st.version); more > st.unacked {
				report("%s: %d writes applied beyond those acknowledged, but only %d were unanswered", st.parent, more, st.unacked)
			}
		}()
	}
	wg.Wait()
}

// logRecord is one record of a txn log file: long checksum, int length,
// the entry, 'B'.
type logRecord struct {
	off, end int64 // where the record starts and ends
	entry    []byte
}

// readLogRecords parses a txn log file: a 16-byte FileHeader, records,
// then zero padding.
func readLogRecords(t testing.TB, path string) []logRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 16 || string(b[:4]) != "ZKLG" {
		t.Fatalf("%s: not a txn log", path)
	}
	var recs []logRecord
	off := int64(16)
	for off+12 <= int64(len(b)) {
		crc := binary.BigEndian.Uint64(b[off:])
		n := int64(int32(binary.BigEndian.Uint32(b[off+8:])))
		if n == 0 && crc == 0 {
			break
		}
		end := off + 12 + n + 1
		if n < 0 || end > int64(len(b)) || b[end-1] != 'B' {
			t.Fatalf("%s: bad record at %d (length %d)", path, off, n)
		}
		entry := b[off+12 : off+12+n]
		if uint64(adler32.Checksum(entry)) != crc {
			t.Fatalf("%s: checksum of the record at %d", path, off)
		}
		recs = append(recs, logRecord{off: off, end: end, entry: entry})
		off = end
	}
	for _, c := range b[off:] {
		if c != 0 {
			t.Fatalf("%s: non-zero bytes after the last record at %d", path, off)
		}
	}
	return recs
}

// copyDir copies a directory tree, keeping zero runs of files sparse.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(to)
		if err != nil {
			return err
		}
		buf := make([]byte, 1<<20)
		for {
			n, rerr := io.ReadFull(in, buf)
			if n > 0 {
				if bytes.Count(buf[:n], []byte{0}) == n {
					_, err = out.Seek(int64(n), io.SeekCurrent)
				} else {
					_, err = out.Write(buf[:n])
				}
				if err != nil {
					out.Close()
					return err
				}
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				break
			}
			if rerr != nil {
				out.Close()
				return rerr
			}
		}
		if err := out.Truncate(fi.Size()); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tornDataDir is a stopped zkd's directory with a known txn log.
type tornDataDir struct {
	dir     string // server dir: zoo.cfg and data/
	logFile string // relative to dir: the last (only) txn log
	recs    []logRecord
	nodes   int // /torn/n00 .. n<nodes-1>; the last record creates the last one
}

func (d *tornDataDir) nodePath(i int) string { return fmt.Sprintf("/torn/n%02d", i) }
func (d *tornDataDir) nodeData(i int) string {
	return fmt.Sprintf("data-%02d-%s", i, strings.Repeat("x", i))
}

// makeTornDataDir runs zkd, writes, stops it cleanly and reads its log.
func makeTornDataDir(t *testing.T) *tornDataDir {
	t.Helper()
	p := startZkd(t, nil)
	c := connectZk(t, p.Addr, 10*time.Second)
	d := &tornDataDir{dir: p.Dir, nodes: 40}
	if _, err := c.Create("/torn", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < d.nodes; i++ {
		if _, err := c.Create(d.nodePath(i), []byte(d.nodeData(i)), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	// Stop with the session open: its last txn is the last create.
	p.Stop()
	c.Close()
	logs := dataFiles(t, p.DataDir, "log")
	if len(logs) != 1 {
		t.Fatalf("want one txn log, have %v", logs)
	}
	d.logFile, _ = filepath.Rel(p.Dir, logs[0])
	d.recs = readLogRecords(t, logs[0])
	last, err := wire.DecodeTxn(d.recs[len(d.recs)-1].entry)
	if err != nil {
		t.Fatal(err)
	}
	cr, ok := last.Record.(*jute.CreateTxn)
	if !ok || cr.Path != d.nodePath(d.nodes-1) {
		t.Fatalf("last log record is %v %+v, want the create of %s", last.Type(), last.Record, d.nodePath(d.nodes-1))
	}
	return d
}

// clone copies the stopped server's directory for one damage case.
func (d *tornDataDir) clone(t *testing.T) (dir, logFile string) {
	t.Helper()
	dir = t.TempDir()
	copyDir(t, d.dir, dir)
	return dir, filepath.Join(dir, d.logFile)
}

func TestTornLogRestart(t *testing.T) {
	d := makeTornDataDir(t)
	last := d.recs[len(d.recs)-1]
	n := last.end - last.off - 13 // entry length
	cuts := []struct {
		name string
		at   int64
	}{
		{"in-checksum", last.off + 6},
		{"in-length", last.off + 10},
		{"in-entry", last.off + 12 + n/2},
		{"before-B", last.end - 1},
	}
	for _, cut := range cuts {
		for _, mode := range []string{"truncated", "zero-filled"} {
			t.Run(cut.name+"-"+mode, func(t *testing.T) {
				dir, logFile := d.clone(t)
				f, err := os.OpenFile(logFile, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				if mode == "truncated" {
					err = f.Truncate(cut.at)
				} else {
					// A write torn inside preallocated space: zeros follow.
					_, err = f.WriteAt(make([]byte, last.end-cut.at), cut.at)
				}
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					t.Fatal(err)
				}
				p := zkproc.StartZkd(t, zkdBin, zkproc.Config{Dir: dir})
				c := connectZk(t, p.Addr, 10*time.Second)
				for i := 0; i < d.nodes-1; i++ {
					got, _, err := c.Get(d.nodePath(i))
					if err != nil || string(got) != d.nodeData(i) {
						t.Fatalf("%s after the cut: %q %v, want %q", d.nodePath(i), got, err, d.nodeData(i))
					}
				}
				if ok, _, err := c.Exists(d.nodePath(d.nodes - 1)); err != nil || ok {
					t.Fatalf("%s, created by the torn record, exists=%v (%v)", d.nodePath(d.nodes-1), ok, err)
				}
				if !logHas(p.Log.String(), "truncat", filepath.Base(logFile)) {
					t.Errorf("no truncation line naming %s in the log:\n%s", filepath.Base(logFile), tailOf(p.Log.String(), 3000))
				}
				// The server appends after the cut, and that survives a restart.
				if _, err := c.Create("/torn/after", []byte("after"), 0, zk.WorldACL(zk.PermAll)); err != nil {
					t.Fatal(err)
				}
				c.Close()
				p.Stop()
				p = zkproc.StartZkd(t, zkdBin, zkproc.Config{Dir: dir, Port: p.Port})
				c = connectZk(t, p.Addr, 10*time.Second)
				if got, _, err := c.Get("/torn/after"); err != nil || string(got) != "after" {
					t.Fatalf("/torn/after after a restart: %q %v", got, err)
				}
				if got, _, err := c.Get(d.nodePath(d.nodes - 2)); err != nil || string(got) != d.nodeData(d.nodes-2) {
					t.Fatalf("%s after a second restart: %q %v", d.nodePath(d.nodes-2), got, err)
				}
				c.Close()
				p.Stop()
				zkdVerify(t, p.DataDir)
			})
		}
	}

	t.Run("flipped-byte-in-earlier-record", func(t *testing.T) {
		dir, logFile := d.clone(t)
		rec := d.recs[len(d.recs)/2]
		flip := rec.off + 12 + int64(len(rec.entry))/2
		f, err := os.OpenFile(logFile, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, flip); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0x5a
		if _, err := f.WriteAt(b, flip); err != nil {
			t.Fatal(err)
		}
		f.Close()
		port := zkproc.FreePort(t)
		cfg := filepath.Join(dir, "zoo.cfg")
		lines := []string{"tickTime=500", "dataDir=" + filepath.Join(dir, "data"), fmt.Sprintf("clientPort=%d", port),
			"clientPortAddress=127.0.0.1", "admin.enableServer=false"}
		if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, zkdBin, "start-foreground", cfg).CombinedOutput()
		var ee *exec.ExitError
		switch {
		case ctx.Err() != nil:
			t.Fatalf("zkd kept running on a log with a damaged record at offset %d:\n%s", rec.off, tailOf(string(out), 3000))
		case !errors.As(err, &ee) || ee.ExitCode() <= 0:
			t.Fatalf("zkd exit: %v, want a non-zero exit status\n%s", err, tailOf(string(out), 3000))
		}
		if !logHas(string(out), filepath.Base(logFile), strconv.FormatInt(rec.off, 10)) &&
			!logHas(string(out), filepath.Base(logFile), strconv.FormatInt(flip, 10)) {
			t.Errorf("no log line names %s and offset %d (record) or %d (byte):\n%s", filepath.Base(logFile), rec.off, flip, tailOf(string(out), 3000))
		}
		vout, err := exec.Command(zkdBin, "verify", filepath.Join(dir, "data")).CombinedOutput()
		if err == nil {
			t.Errorf("zkd verify accepts a log with a damaged record at offset %d:\n%s", rec.off, vout)
		}
		if testing.Verbose() {
			t.Logf("zkd exit %d:\n%s", ee.ExitCode(), tailOf(string(out), 1500))
		}
	})
}

// logHas reports whether one line of log holds all of parts
// (case-insensitive).
func logHas(log string, parts ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		l := strings.ToLower(line)
		all := true
		for _, p := range parts {
			if !strings.Contains(l, strings.ToLower(p)) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
