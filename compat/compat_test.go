package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// knownDiffs lists the scenarios where zkd is known to answer differently
// from ZooKeeper 3.8, with the reason. Their diff is logged instead of
// failing the test; a listed scenario that no longer differs fails, so the
// list shrinks as zkd is fixed.
var knownDiffs = map[string]string{
	// ZooKeeper 3.8.0 bugs zkd does not copy.
	"check-alone":           "ZooKeeper 3.8.0 never answers a successful standalone check (NPE serializing SetDataResponse(null)); zkd answers OK with a zero Stat",
	"setwatches-null-lists": "SetWatches with null lists: ZooKeeper handles the lists before the first null, then MARSHALLINGERROR; zkd treats null as empty",
	// Watch modes follow ZooKeeper 3.9 (ZOOKEEPER-4466): several modes per
	// (connection, path) and the Persistent/PersistentRecursive watcher types.
	"addwatch-mixed":           "3.8 keeps one watch mode per (connection, path), so addWatch replaces a standard watch there; zkd keeps both, as 3.9 does",
	"check-remove-watch-types": "watcher types 4 and 5 (Persistent, PersistentRecursive) are 3.9's; ZooKeeper 3.8 answers MARSHALLINGERROR for them and for invalid paths",
	"check-remove-persistent":  "checkWatches Children on a persistent recursive watch: 3.8 registers recursive watches in its child table too and answers OK; zkd (as 3.9) answers NOWATCHER",
	// Four-letter words.
	"4lw-mntr": "mntr: zkd reports a subset of ZooKeeper's ~495 keys",
}

// specs are the server configurations; each is started once as
// ZooKeeper and once as zkd.
var specs = []serverSpec{
	{
		name: "main",
		cfg:  map[string]string{"4lw.commands.whitelist": "*"},
		props: map[string]string{
			"zookeeper.extendedTypesEnabled": "true",
			// No container/TTL reaping while the suite runs: its txns
			// would land at random points of the transcripts.
			"znode.container.checkIntervalMs": "3600000",
		},
	},
	{
		// Containers and TTL nodes reaped every 100 ms.
		name: "reaper",
		cfg:  map[string]string{"4lw.commands.whitelist": "*"},
		props: map[string]string{
			"zookeeper.extendedTypesEnabled":  "true",
			"znode.container.checkIntervalMs": "100",
		},
	},
	{
		// Default extended types (off) and a narrow 4lw whitelist.
		name:  "plain",
		cfg:   map[string]string{"4lw.commands.whitelist": "srvr"},
		props: map[string]string{"znode.container.checkIntervalMs": "3600000"},
	},
}

// env holds the servers, started on first use by needPair and stopped
// by TestMain.
var env struct {
	once  sync.Once
	skip  string // why the servers cannot run here
	err   error  // why they failed to start
	tmp   string
	pairs map[string]*pair
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	code := m.Run()
	stopPairs(env.pairs)
	if env.tmp != "" {
		if code == 0 {
			os.RemoveAll(env.tmp)
		} else {
			fmt.Fprintf(os.Stderr, "compat: server data and logs kept in %s\n", env.tmp)
		}
	}
	return code
}

// startServers starts every server pair, once per test binary.
func startServers() {
	if reason := prerequisites(); reason != "" {
		env.skip = reason
		return
	}
	tmp, err := os.MkdirTemp("", "zkd-compat-")
	if err != nil {
		env.err = err
		return
	}
	env.tmp = tmp
	start := time.Now()
	env.pairs, env.err = startPairs(tmp, specs)
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "compat: servers started in %v\n", time.Since(start).Round(time.Millisecond))
	}
}

// needPair returns a running server pair, or skips (fails under CI=true)
// when ZooKeeper cannot run on this machine.
func needPair(t *testing.T, name string) *pair {
	t.Helper()
	env.once.Do(startServers)
	if env.skip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the differential tests cannot run: %s", env.skip)
		}
		t.Skipf("skipping differential tests: %s", env.skip)
	}
	if env.err != nil {
		t.Fatalf("starting the servers: %v", env.err)
	}
	p, ok := env.pairs[name]
	if !ok {
		t.Fatalf("no server pair %q", name)
	}
	for _, s := range []*server{p.zk, p.zkd} {
		if !s.alive() {
			t.Fatalf("%s (%s) is not running (%v); last output:\n%s", s.kind, s.spec, s.err, s.logTail(40))
		}
	}
	return p
}

// scenario is one scripted interaction, run against both servers.
type scenario struct {
	name string
	pair string // server pair; "" is "main"
	run  func(r *run)
}

// runScenario runs sc against srv and returns the transcript.
func runScenario(srv *server, sc scenario) (lines []string) {
	r := newRun(srv, sc.name)
	defer func() {
		if v := recover(); v != nil {
			r.logf("!! panic: %v\n%s", v, debug.Stack())
		}
		r.finish()
		lines = r.lines
	}()
	sc.run(r)
	return
}

// runBoth runs a scenario against ZooKeeper and zkd at the same time.
func runBoth(p *pair, sc scenario) (zk, zkd []string) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); zk = runScenario(p.zk, sc) }()
	go func() { defer wg.Done(); zkd = runScenario(p.zkd, sc) }()
	wg.Wait()
	return zk, zkd
}

func TestCompat(t *testing.T) {
	names := map[string]bool{}
	for _, sc := range scenarios {
		if names[sc.name] {
			t.Fatalf("duplicate scenario %q", sc.name)
		}
		names[sc.name] = true
	}
	for name := range knownDiffs {
		if !names[name] {
			t.Errorf("knownDiffs names %q, which is not a scenario", name)
		}
	}
	dump := os.Getenv("COMPAT_DUMP") // a directory to write every transcript to
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			pairName := sc.pair
			if pairName == "" {
				pairName = "main"
			}
			p := needPair(t, pairName)
			zk, zkd := runBoth(p, sc)
			differs, side := diffTranscripts(zk, zkd, "ZooKeeper 3.8.0", "zkd")
			if dump != "" {
				writeDump(t, dump, sc.name, side, zk, zkd, differs)
			}
			reason, known := knownDiffs[sc.name]
			switch {
			case differs && known:
				t.Logf("known diff (%s):\n%s", reason, side)
			case differs:
				t.Errorf("zkd differs from ZooKeeper:\n%s", side)
			case known:
				t.Errorf("listed in knownDiffs (%q) but zkd now matches ZooKeeper: remove it from the list", reason)
			case testing.Verbose():
				t.Logf("transcript:\n%s", strings.Join(zk, "\n"))
			}
			for _, s := range []*server{p.zk, p.zkd} {
				if !s.alive() {
					t.Fatalf("%s (%s) died during the scenario (%v); last output:\n%s", s.kind, s.spec, s.err, s.logTail(40))
				}
			}
		})
	}
}

// writeDump writes the side-by-side view (<name>.same.txt or
// <name>.diff.txt) and both raw transcripts (<name>.zookeeper.txt,
// <name>.zkd.txt) to dir.
func writeDump(t *testing.T, dir, name, side string, zk, zkd []string, differs bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("COMPAT_DUMP: %v", err)
		return
	}
	suffix := ".same.txt"
	if differs {
		suffix = ".diff.txt"
	}
	files := map[string]string{
		name + suffix:           side,
		name + ".zookeeper.txt": strings.Join(zk, "\n") + "\n",
		name + ".zkd.txt":       strings.Join(zkd, "\n") + "\n",
	}
	for f, text := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
			t.Logf("COMPAT_DUMP: %v", err)
		}
	}
}
