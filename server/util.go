package server

import (
	"context"
	"time"
)

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// closeAllConnections drops every client connection, as a server that
// stops serving does (QuorumPeer.closeAllConnections).
func (s *Server) closeAllConnections(reason string) {
	conns := s.connections()
	if len(conns) > 0 {
		s.log.Info().Int("connections", len(conns)).Str("reason", reason).Msg("closing client connections")
	}
	for _, c := range conns {
		c.closeAsync()
	}
}
