package integration

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"zkd/internal/zkproc"
)

const zkCli = "/usr/share/zookeeper/bin/zkCli.sh"

// zkCliScript is a session as a user types it; what zkCli.sh prints must
// be the same against zkd and against Apache ZooKeeper.
var zkCliScript = []string{
	"create /cli data",
	"create /cli dup",
	"create -s -e /cli/eph- x",
	"create -s /cli/seq- y",
	"create -e /cli/e2 z",
	"create /cli/e2/child q",
	"ls /cli",
	"ls -s /cli",
	"get -s /cli",
	"set /cli newdata",
	"stat /cli",
	"set -v 7 /cli bad",
	"get -w /cli",
	"set /cli again",
	"ls -w /cli",
	"create /cli/child",
	"delete /cli",
	"delete -v 9 /cli/child",
	"delete /cli/child",
	"create /acl x",
	"setAcl /acl world:anyone:r",
	"getAcl /acl",
	"set /acl y",
	"addauth digest user:pass",
	"create /dig x auth:user:pass:cdrwa",
	"getAcl /dig",
	"deleteall /cli",
	"get /cli",
	"stat /nope",
	"ls /",
	"quit",
}

func runZkCli(t *testing.T, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, zkCli, "-server", addr)
	cmd.Stdin = strings.NewReader(strings.Join(zkCliScript, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zkCli.sh: %v\n%s", err, out)
	}
	return string(out)
}

var (
	cliTime  = regexp.MustCompile(`(?m)^(ctime|mtime) = .*$`)
	cliOwner = regexp.MustCompile(`(?m)^ephemeralOwner = 0x[0-9a-f]+$`)
	cliAddr  = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	cliSLF4J = regexp.MustCompile(`(?m)^SLF4J: .*\n`)
	cliEvent = regexp.MustCompile(`WatchedEvent [^\n]*`)
)

// normalizeCli removes what legitimately differs between runs (times,
// session ids, ports) and separates watch events, which the client prints
// from another thread, from the command output.
func normalizeCli(s string) (out string, events []string) {
	s = cliSLF4J.ReplaceAllString(s, "")
	s = cliTime.ReplaceAllString(s, "$1 = T")
	s = cliAddr.ReplaceAllString(s, "ADDR")
	for _, owner := range cliOwner.FindAllString(s, -1) {
		if owner != "ephemeralOwner = 0x0" {
			s = strings.ReplaceAll(s, owner, "ephemeralOwner = SESSION")
		}
	}
	// The client's event thread prints "WATCHER::", a blank line and the
	// event with separate printlns, which interleave with command output.
	events = cliEvent.FindAllString(s, -1)
	sort.Strings(events)
	s = cliEvent.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "WATCHER::", "")
	// The event thread's prints also move blank lines around.
	s = regexp.MustCompile(`\n\s*\n+`).ReplaceAllString(s, "\n")
	return s, events
}

func TestZkCliSameAsZooKeeper(t *testing.T) {
	zkproc.Require(t, fileExists(zkCli), zkCli)
	zk := zkproc.StartZooKeeper(t, zkproc.Config{})
	zd := startZkd(t, nil)
	want, wantEv := normalizeCli(runZkCli(t, zk.Addr))
	got, gotEv := normalizeCli(runZkCli(t, zd.Addr))
	if got != want {
		t.Errorf("zkCli.sh output differs\n--- ZooKeeper\n%s\n--- zkd\n%s", want, got)
	}
	if strings.Join(gotEv, "") != strings.Join(wantEv, "") {
		t.Errorf("watch events differ\n--- ZooKeeper\n%s\n--- zkd\n%s", wantEv, gotEv)
	}
	if testing.Verbose() {
		t.Logf("zkd transcript:\n%s", got)
	}
	if !strings.Contains(got, "Node already exists: /cli") {
		t.Errorf("script did not run as expected:\n%s", got)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
