#!/usr/bin/env bash
# Benchmark zkd against Apache ZooKeeper 3.8 on this machine and write
# bench/results/<date>.{md,json} plus one SVG chart per workload.
#   bench/run.sh                 full run (~30 minutes on 2 cores)
#   BENCH_QUICK=1 bench/run.sh   smoke run (~5 minutes), into bench/results/quick
# Extra arguments go to the suite (go run ./bench/suite -h lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
$GO build -o build/zkd ./cmd/zkd
$GO build -o build/zkbench-suite ./bench/suite
# 10,000 idle sessions need as many descriptors in the client and in the
# server; raise the soft limit as far as the hard one allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec build/zkbench-suite -zkd build/zkd -out bench/results "$@"
