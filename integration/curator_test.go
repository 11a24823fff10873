package integration

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"zkd/internal/zkproc"
)

// curatorJars is the classpath of curator/CuratorCheck.java: Curator 5.4
// and the ZooKeeper 3.8 client from Debian's packages, with what their
// manifests' Class-Path entries name (guava, slf4j) plus slf4j-nop to keep
// the output clean.
var curatorJars = []string{
	"/usr/share/java/curator-recipes.jar",
	"/usr/share/java/curator-framework.jar",
	"/usr/share/java/curator-client.jar",
	"/usr/share/java/zookeeper.jar",
	"/usr/share/java/zookeeper-jute.jar",
	"/usr/share/java/guava.jar",
	"/usr/share/java/slf4j-api.jar",
	"/usr/share/java/slf4j-nop.jar",
}

// curatorChecks are the checks of CuratorCheck.java, in the order it runs them.
var curatorChecks = []string{
	"InterProcessMutex",
	"InterProcessSemaphoreV2",
	"LeaderLatch",
	"LeaderSelector",
	"CuratorCache",
	"DistributedAtomicLong",
	"DistributedBarrier",
	"PersistentNodeEphemeral",
	"TTLNode",
	"ContainerNode",
	"ExtendedTypeStat",
	"WatchesAcrossReconnect",
	"DigestACL",
}

// curatorZkdBugs lists the checks that pass against Apache ZooKeeper but fail
// against zkd, with a one-line description; they are skipped under zkd.
var curatorZkdBugs = map[string]string{}

// curatorServerProps enable TTL nodes and make the container manager run
// every 100ms, on both servers.
var curatorServerProps = []string{"-Dzookeeper.extendedTypesEnabled=true", "-Dznode.container.checkIntervalMs=100"}

// TestCurator runs Curator recipes (curator/CuratorCheck.java, compiled
// with javac against Debian's jars) against Apache ZooKeeper and zkd: locks,
// semaphores, leader latch and selector, CuratorCache (persistent recursive
// watches), atomic counters, barriers, an ephemeral PersistentNode across a
// session expiry, TTL and container nodes, digest ACLs.
func TestCurator(t *testing.T) {
	zkproc.Require(t, haveCommand("javac") && haveCommand("java"), "javac and java (default-jdk-headless)")
	for _, jar := range curatorJars {
		zkproc.Require(t, fileExists(jar), jar+" (libcurator-*-java, zookeeper)")
	}
	classes := t.TempDir()
	cp := strings.Join(curatorJars, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "javac", "-d", classes, "-cp", cp, "curator/CuratorCheck.java").CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	onZooKeeperAndZkd(t, curatorServerProps, func(t *testing.T, p *zkproc.Proc, isZkd bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "java", "-Xmx256m", "-cp", classes+":"+cp, "CuratorCheck", p.Addr)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		t.Logf("CuratorCheck ran for %v", time.Since(start).Round(time.Millisecond))
		reportChecks(t, curatorChecks, stdout.String(), stderr.String(), err, isZkd, curatorZkdBugs)
	})
}
