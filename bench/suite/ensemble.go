package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"zkd/bench/load"
	"zkd/internal/zkproc"
)

// ensembleSize is the number of voters of the ensemble workloads.
const ensembleSize = 3

// ensembleLines are the zoo.cfg lines the ensemble members get on top of
// zkproc's (tickTime, initLimit, syncLimit, dataDir, clientPort,
// clientPortAddress, 4lw.commands.whitelist, admin.enableServer, server.N):
// with them, every setting of the standalone zooCfg is the same.
var ensembleLines = []string{"maxClientCnxns=0", "forceSync=yes"}

// ensembleNote describes the ensemble setup for the report.
func ensembleNote(heap string) string {
	return fmt.Sprintf("Ensemble workloads: %d voters on loopback (zkd × %d or ZooKeeper × %d), the shared `zoo.cfg` above plus `initLimit=10`, `syncLimit=5` and one `server.N=127.0.0.1:<quorum port>:<election port>` line per member, each member on its own data dir; ZooKeeper members with `-Xmx%s` (the JVM's default GC and JIT) and slf4j-simple logging at INFO to a file. Server CPU and RSS are the three members' together.",
		ensembleSize, ensembleSize, ensembleSize, heap)
}

// ensemble is a running ensemble of one kind, for the ensemble workloads.
type ensemble struct {
	k kind
	h *zkproc.Harness
	e *zkproc.Ensemble
}

func (s *suite) startEnsemble(k kind, dir string) (*ensemble, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	h := zkproc.NewHarness(k.Name+"-ensemble", dir, func(format string, args ...any) {
		s.logf("%s ensemble: %s", k.Name, fmt.Sprintf(format, args...))
	})
	cfg := zkproc.EnsembleConfig{TickTime: 2000, Lines: ensembleLines}
	zk := zkproc.KindZkd
	switch k.Name {
	case "zkd":
		cfg.ZkdBin = k.bin
	case "zookeeper":
		zk = zkproc.KindZooKeeper
		cfg.JVMArgs = []string{"-Xmx" + k.heap}
	default:
		return nil, fmt.Errorf("no ensemble of %s", k.Name)
	}
	for id := int64(1); id <= ensembleSize; id++ {
		cfg.Members = append(cfg.Members, zkproc.MemberSpec{ID: id, Kind: zk})
	}
	en := &ensemble{k: k, h: h}
	t0 := time.Now()
	err := h.Do(func() {
		en.e = zkproc.NewEnsemble(h, cfg)
		en.e.StartAll()
	})
	if err == nil {
		err = en.e.WaitServing(2 * time.Minute)
	}
	if err != nil {
		en.stop()
		return nil, fmt.Errorf("%s ensemble: %w", k.Name, err)
	}
	s.logf("%s ensemble serving on %s %.2fs after start: %s", k.Name, strings.Join(en.e.Addrs(), ","), time.Since(t0).Seconds(), en.e.Modes())
	return en, nil
}

func (en *ensemble) pids() []int {
	var out []int
	for _, m := range en.e.Members {
		if p := m.Proc(); p != nil && !p.Exited() {
			out = append(out, p.Pid())
		}
	}
	return out
}

func (en *ensemble) env(logf func(string, ...any)) *load.Env {
	ms := en.e.Members
	return &load.Env{Addr: ms[0].Addr, Addrs: en.e.Addrs(), PIDs: en.pids(), DataDir: ms[0].DataDir,
		Logf: logf, Cluster: cluster{en}}
}

// exited names the members whose process is not running.
func (en *ensemble) exited() string {
	var out []string
	for _, m := range en.e.Members {
		if !m.Running() {
			out = append(out, fmt.Sprintf("server %d (log: %s)", m.ID, m.LogPath()))
		}
	}
	return strings.Join(out, ", ")
}

func (en *ensemble) stop() { en.h.Close() }

// cluster is the load.Cluster of ensemble-election.
type cluster struct{ en *ensemble }

func (c cluster) Kill(i int) error {
	return c.en.h.Do(func() { c.en.e.Members[i].Kill() })
}

func (c cluster) Restart(ctx context.Context, i int) error {
	m := c.en.e.Members[i]
	if err := c.en.h.Do(m.Start); err != nil {
		return err
	}
	return c.en.e.WaitServing(2 * time.Minute)
}
