package integration

import (
	"testing"

	"zkd/internal/zkproc"
)

// TestEnsembleZooKeeperTruncReference runs ensTruncScenario on Apache
// ZooKeeper alone: the reference for the zkd TRUNC test.
func TestEnsembleZooKeeperTruncReference(t *testing.T) {
	ensTruncScenario(t, zkproc.KindZooKeeper)
}
