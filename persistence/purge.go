package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// MinRetain is the fewest snapshots Purge keeps (PurgeTxnLog's limit).
const MinRetain = 3

// Purge keeps the newest retain valid snapshots of dataDir and the logs of
// dataLogDir they need, and deletes older snapshots and logs
// (PurgeTxnLog.purge). Both directories are zoo.cfg's, without version-2;
// an empty dataLogDir means dataDir. It returns the removed files.
func Purge(dataDir, dataLogDir string, retain int) ([]string, error) {
	if retain < MinRetain {
		return nil, fmt.Errorf("purge: the count of snapshots to keep must be at least %d", MinRetain)
	}
	if dataLogDir == "" {
		dataLogDir = dataDir
	}
	snapDir := filepath.Join(dataDir, VersionDir)
	logDir := filepath.Join(dataLogDir, VersionDir)
	snaps, err := FindValidSnapshots(snapDir, retain)
	if err != nil {
		return nil, err
	}
	if len(snaps) == 0 {
		return nil, nil
	}
	least := ZxidFromName(filepath.Base(snaps[len(snaps)-1]), SnapshotPrefix)
	victims, err := purgeCandidates(snapDir, logDir, least)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, p := range victims {
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

// purgeCandidates lists the files with a zxid below least in their names,
// except the newest log starting at or before least: it may hold the txns
// that follow the oldest retained snapshot.
func purgeCandidates(snapDir, logDir string, least int64) ([]string, error) {
	logs, err := listFiles(logDir, LogPrefix, false)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, f := range logFilesFrom(logs, least) {
		if f.Zxid <= least {
			keep[f.Path] = true
		}
	}
	var out []string
	for _, f := range logs {
		if f.Zxid < least && !keep[f.Path] {
			out = append(out, f.Path)
		}
	}
	snaps, err := listFiles(snapDir, SnapshotPrefix, false)
	if err != nil {
		return nil, err
	}
	for _, f := range snaps {
		if f.Zxid < least {
			out = append(out, f.Path)
		}
	}
	return out, nil
}
