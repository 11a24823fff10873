package persistence

import "os"

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
