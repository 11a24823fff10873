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
	s, err := New(cfg, log, Options{})
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
