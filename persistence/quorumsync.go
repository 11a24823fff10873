package persistence

import (
	"os"
)

// DropLogsThrough removes every txn log file when a snapshot at zxid or
// later holds the whole database: a learner synced by SNAP keeps no log
// that predates the leader's snapshot, since that log may hold txns the
// leader's history does not (a restart or a DIFF served from it would
// bring them back). Later appends start a new file.
func (s *Store) DropLogsThrough(zxid int64) error {
	if s.writer != nil {
		if err := s.writer.Close(); err != nil {
			return err
		}
	}
	files, err := listFiles(s.logDir, LogPrefix, false)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.Remove(f.Path); err != nil {
			return err
		}
	}
	if err := syncDir(s.logDir); err != nil {
		return err
	}
	if s.writer != nil {
		s.writer.reopen(zxid)
	}
	s.log.Info().Int("files", len(files)).Str("zxid", "0x"+hexZxid(zxid)).Msg("dropped txn logs replaced by a snapshot")
	return nil
}

// removeSnapshotsAfter deletes snapshots newer than z: after a TRUNC to z
// they hold txns the leader never committed, and a restore must not load
// them.
func (s *Store) removeSnapshotsAfter(z int64) error {
	files, err := listFiles(s.snapDir, SnapshotPrefix, false)
	if err != nil {
		return err
	}
	n := 0
	for _, f := range files {
		if f.Zxid <= z {
			continue
		}
		if err := os.Remove(f.Path); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return nil
	}
	s.log.Warn().Int("files", n).Str("zxid", "0x"+hexZxid(z)).Msg("removed snapshots newer than the truncation point")
	return syncDir(s.snapDir)
}

// TxnLogSyncLimit is ZKDatabase.calculateTxnLogSizeLimit: how many bytes
// of txn log a leader reads to sync a learner before it sends a snapshot
// instead, factor × the newest snapshot's size (0: no limit). A negative
// factor turns syncing from the log off; the limit is then -1.
func (s *Store) TxnLogSyncLimit(factor float64) int64 {
	if factor < 0 {
		return -1
	}
	snaps, err := listFiles(s.snapDir, SnapshotPrefix, true)
	if err != nil || len(snaps) == 0 {
		return 0
	}
	fi, err := os.Stat(snaps[0].Path)
	if err != nil {
		return 0
	}
	return int64(float64(fi.Size()) * factor)
}

// LogSizeFrom is the size of the log files that hold zxid z and later
// (the storage size of FileTxnLog's iterator from z).
func (s *Store) LogSizeFrom(z int64) int64 {
	files, err := listFiles(s.logDir, LogPrefix, false)
	if err != nil {
		return 0
	}
	var n int64
	for _, f := range logFilesFrom(files, z) {
		if fi, err := os.Stat(f.Path); err == nil {
			n += fi.Size()
		}
	}
	return n
}
