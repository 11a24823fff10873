// Package integration holds end-to-end tests: zkd as a process, driven by
// real clients (go-zookeeper, zkCli.sh, Curator, the C client, kazoo) and
// by raw sockets.
package integration

import (
	"fmt"
	"os"
	"testing"

	"zkd/internal/zkproc"
)

// zkdBin is the zkd binary under test: $ZKD_BIN, or one built for the run.
var zkdBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "zkd-integration")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if zkdBin, err = zkproc.BuildZkd(dir); err != nil {
		fmt.Fprintln(os.Stderr, "building zkd:", err)
		return 1
	}
	return m.Run()
}

// startZkd starts zkd with extra zoo.cfg lines and -D flags.
func startZkd(t testing.TB, lines []string, props ...string) *zkproc.Proc {
	t.Helper()
	return zkproc.StartZkd(t, zkdBin, zkproc.Config{Lines: lines, Props: props})
}
