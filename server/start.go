package server

import (
	"context"

	"github.com/rs/zerolog"
)

// Start builds and runs the server a config describes until ctx ends.
func Start(ctx context.Context, cfg *Config, log zerolog.Logger) error {
	if !cfg.Standalone() {
		log.Warn().Int("servers", len(cfg.Servers)).Msg("ensemble configuration: quorum mode is not implemented yet; serving standalone")
	}
	store, t, err := openStore(cfg, log)
	if err != nil {
		return err
	}
	s, err := New(cfg, log, Options{Tree: t, Store: store})
	if err != nil {
		store.Close()
		return err
	}
	if store.LastRestore().Replayed > 0 {
		// Like ZooKeeper's startup snapshot, so the next start replays
		// nothing; written in the background while serving.
		s.snaps.start()
	}
	return s.Run(ctx)
}
