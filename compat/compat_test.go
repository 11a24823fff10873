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
	// Stats.
	"cversion":                   "Stat.cversion is the stored create count; ZooKeeper shows clients cversion*2-numChildren (DataNode.copyStat), so deletes count too",
	"create-container":           "container Stat.ephemeralOwner shows 0x8000000000000000; ZooKeeper shows clients 0 for containers and TTL nodes (DataNode.copyStat)",
	"create-ttl":                 "TTL Stat.ephemeralOwner shows 0xff..<ttl>; ZooKeeper shows clients 0 (DataNode.copyStat)",
	"multi-create-ttl-container": "multi createTTL/createContainer results carry the TTL/container ephemeralOwner; ZooKeeper shows 0",
	"reserved-nodes":             "/zookeeper, /zookeeper/quota, /zookeeper/config data is null (ZooKeeper: empty), /zookeeper/config aversion 0 (ZooKeeper: -1), cversion not translated",
	// Multi.
	"multi-create2":         "a create2 op in a multi gets a create2 result with Stat; ZooKeeper derives the op from its flags (Op.create) and answers a create result (path only)",
	"reap-container-modes":  "in a multi ZooKeeper derives create ops from flags: create+CONTAINER makes a container, createContainer+PERSISTENT a plain node; zkd follows the op type",
	"multi-read-with-write": "multiRead holding a write op: ZooKeeper answers MARSHALLINGERROR for the whole request; zkd answers per op (BADARGUMENTS for the write)",
	"check-alone":           "ZooKeeper 3.8.0 never answers a successful standalone check (NPE serializing SetDataResponse(null)); zkd answers OK with a zero Stat",
	// Watches.
	"addwatch-mixed":           "ZooKeeper keeps one watch mode per (connection, path): addWatch replaces a standard/persistent watch there, so no NodeChildrenChanged; zkd keeps both",
	"addwatch-errors":          "addWatch with an unknown mode: ZooKeeper MARSHALLINGERROR, zkd BADARGUMENTS",
	"check-remove-persistent":  "ZooKeeper counts a persistent/recursive watch as a Data and a Children watch for checkWatches/removeWatches; zkd answers NOWATCHER for types 1 and 2",
	"check-remove-watch-types": "watcher types outside 1..3 and invalid paths: ZooKeeper 3.8 MARSHALLINGERROR; zkd accepts 4/5 and answers NOWATCHER otherwise",
	"setwatches-null-lists":    "SetWatches with null lists: ZooKeeper handles the lists before the first null, then MARSHALLINGERROR; zkd treats null as empty",
	"read-bad-paths":           "reads of the empty path \"\" return the root in ZooKeeper (its node map keys the root as \"\"); zkd answers NONODE",
	// Sessions and opcodes.
	"reconnect-password":      "a reconnect with a wrong password closes the session's current connection in ZooKeeper; zkd leaves it open",
	"delete-container-opcode": "client-sent deleteContainer (20): ZooKeeper BADARGUMENTS, connection kept; zkd UNIMPLEMENTED and closes",
	"create-session-opcode":   "createSession (-10) inside a session: ZooKeeper MARSHALLINGERROR, connection kept; zkd UNIMPLEMENTED and closes",
	// Four-letter words.
	"4lw-mntr": "mntr: zkd has 19 of ZooKeeper's ~495 keys and 5 it does not have",
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
