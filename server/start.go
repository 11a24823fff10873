package server

import (
	"context"

	"github.com/rs/zerolog"
)

// Start builds and runs the server a config describes until ctx ends.
func Start(ctx context.Context, cfg *Config, log zerolog.Logger) error {
	if !cfg.Standalone() {
		log = log.With().Int64("sid", cfg.ServerID).Logger()
		log.Info().Int("servers", len(cfg.Servers)).Msg("starting as a member of an ensemble")
	}
	add, committed := committedLogHook(cfg.CommitLogCount())
	store, t, err := openStore(cfg, log, add)
	if err != nil {
		return err
	}
	s, err := New(cfg, log, Options{Tree: t, Store: store, CommittedLog: committed()})
	if err != nil {
		store.Close()
		return err
	}
	if cfg.Standalone() && store.LastRestore().Replayed > 0 {
		// Like ZooKeeper's startup snapshot, so the next start replays
		// nothing; written in the background while serving. Not in an
		// ensemble: the replayed txns may be uncommitted ones the leader
		// will TRUNC away (QuorumPeer takes no such snapshot either).
		s.snaps.start()
	}
	return s.Run(ctx)
}
