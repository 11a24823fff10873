package integration

// More of zkCli.sh, in the style of zkcli_test.go: auth and ACLs,
// persistent recursive watches, TTL and container nodes, whoami,
// getEphemerals, getAllChildrenNumber, quotas, sync and stat -w. What
// zkCli.sh prints must be the same against zkd and against Apache
// ZooKeeper, after zkcli_test.go's normalization.

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"zkd/internal/zkproc"
)

var zkCliExtendedScript = []string{
	"whoami",
	"addauth digest user:pass",
	"whoami",
	"create /ext data",
	"setAcl /ext auth:user:pass:cdrwa",
	"getAcl /ext",
	"setAcl /ext digest:other:EKxKx1jd3UN6jpvcVRMyVYgJcl0=:r,auth:user:pass:cdrwa",
	"getAcl -s /ext",
	"setAcl -v 0 /ext world:anyone:r",
	"setAcl -v 1 /ext world:anyone:cdrwa",
	"getAcl /ext",
	"addWatch -m PERSISTENT_RECURSIVE /ext",
	"create /ext/child c",
	"create /ext/child/grand g",
	"set /ext/child/grand g2",
	"delete /ext/child/grand",
	"create -t 3600000 /ttlnode t",
	"create -t 3600000 -s /ttlseq- ts",
	"stat /ttlnode",
	"create -c /container",
	"create /container/kid k",
	"stat /container",
	"create -e /ext/eph1 e1",
	"create -e /eph2 e2",
	"create -s -e /ext/eph- e3",
	"getEphemerals",
	"getEphemerals /ext",
	"getEphemerals /nothing",
	"getAllChildrenNumber /",
	"getAllChildrenNumber /ext",
	"getAllChildrenNumber /nope",
	"create /q",
	"setquota -n 2 /q",
	"listquota /q",
	"create /q/a",
	"create /q/b",
	"create /q/c",
	"listquota /q",
	"setquota -b 100 /q",
	"listquota /q",
	"delquota -n /q",
	"listquota /q",
	"delquota /q",
	"listquota /q",
	"ls -R /zookeeper",
	"sync /ext",
	"stat -w /q",
	"set /q changed",
	"stat -w /nope",
	"stat /q",
	"removewatches /ext",
	"create /ext/after a",
	"quit",
}

// runZkCliScript is runZkCli with a script of its own.
func runZkCliScript(t *testing.T, addr string, script []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, zkCli, "-server", addr)
	cmd.Stdin = strings.NewReader(strings.Join(script, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zkCli.sh: %v\n%s", err, out)
	}
	return string(out)
}

func TestZkCliExtended(t *testing.T) {
	zkproc.Require(t, fileExists(zkCli), zkCli)
	props := []string{"-Dzookeeper.extendedTypesEnabled=true"}
	zk := zkproc.StartZooKeeper(t, zkproc.Config{Props: props})
	zd := startZkd(t, nil, props...)
	want, wantEv := normalizeCli(runZkCliScript(t, zk.Addr, zkCliExtendedScript))
	got, gotEv := normalizeCli(runZkCliScript(t, zd.Addr, zkCliExtendedScript))
	if testing.Verbose() {
		t.Logf("zkd transcript:\n%s\nevents:\n%s", got, strings.Join(gotEv, "\n"))
	}
	if strings.Join(gotEv, "\n") != strings.Join(wantEv, "\n") {
		t.Errorf("watch events differ\n--- ZooKeeper\n%s\n--- zkd\n%s", strings.Join(wantEv, "\n"), strings.Join(gotEv, "\n"))
	}
	if !strings.Contains(want, "Output quota for /q count=2") || !strings.Contains(want, "[/ext/eph1") && !strings.Contains(want, "[/ext/eph-") {
		t.Fatalf("script did not run as expected against ZooKeeper:\n%s", want)
	}
	if got != want {
		t.Errorf("zkCli.sh output differs\n--- ZooKeeper\n%s\n--- zkd\n%s", want, got)
	}
}
