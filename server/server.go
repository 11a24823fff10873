// Package server is a ZooKeeper server: configuration, sessions, watches,
// ACLs, the request pipeline and the client network front end.
package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"

	"zkd/persistence"
	"zkd/quorum"
	"zkd/server/tree"
)

// Version is what srvr and envi report: the ZooKeeper release whose
// behaviour zkd follows, then zkd's own version.
const Version = "3.8.0-zkd.0.1.0"

// BuildDate is the build date srvr prints (MM/dd/yyyy HH:mm GMT).
var BuildDate = "11/24/2026 00:00 GMT"

// Server is a standalone ZooKeeper server.
type Server struct {
	// maxDupFD bounds the socket descriptors that get a duplicate for the
	// processor's writes (Conn.dupSocket): a quarter of the process's
	// descriptor limit, so duplicates never cost a server with many
	// connections more than a quarter of the connections it could hold.
	maxDupFD int
	cfg      *Config
	log      zerolog.Logger
	tree     *tree.DataTree
	treeMu   sync.RWMutex
	sessions *SessionTracker
	watches  *Watches
	auth     *Auth
	proc     *processor
	rep      Replicator
	store    *persistence.Store // nil: in memory only
	snaps    *snapshotter
	front    *frontend
	stats    serverStats
	lastZxid atomic.Int64
	started  time.Time
	serving  atomic.Bool // the client port is up
	role     atomic.Int32
	ro       atomic.Bool // read-only mode (see readOnly)
	qd       *quorumDriver

	maxBuffer       int
	digestEnabled   bool
	closeSessionTxn bool
	enforceQuota    bool
	whitelist       map[string]bool

	fatal    chan error
	stopOnce sync.Once
}

// Options are the parts of a Server that callers may provide.
type Options struct {
	// Tree is the restored database; nil starts an empty one.
	Tree *tree.DataTree
	// Store holds the data directories; nil keeps everything in memory.
	Store *persistence.Store
	// CommittedLog is the tail of the txns restored, for syncing learners.
	CommittedLog []quorum.LogEntry
}

// New builds a server from a config.
func New(cfg *Config, log zerolog.Logger, opts Options) (*Server, error) {
	s := &Server{
		cfg:             cfg,
		log:             log,
		maxBuffer:       cfg.MaxBuffer(),
		digestEnabled:   cfg.PropBool("zookeeper.digest.enabled", true),
		closeSessionTxn: cfg.PropBool("zookeeper.closeSessionTxn.enabled", true),
		enforceQuota:    cfg.PropBool("zookeeper.enforceQuota", false),
		fatal:           make(chan error, 1),
		maxDupFD:        int(maxFDs() / 4),
	}
	for _, w := range cfg.Warnings {
		log.Warn().Msg(w)
	}
	s.whitelist = parseWhitelist(cfg)
	super, _ := cfg.Prop("zookeeper.DigestAuthenticationProvider.superDigest")
	alg, _ := cfg.Prop("zookeeper.DigestAuthenticationProvider.digestAlg")
	s.auth = &Auth{SuperDigest: super, DigestAlg: alg, SkipACL: cfg.PropBool("zookeeper.skipACL", false)}
	if s.auth.SkipACL {
		log.Warn().Msg("skipACL is set: ACLs are not checked")
	}
	s.tree = opts.Tree
	if s.tree == nil {
		s.tree = tree.New()
	}
	s.tree.ExtendedTypes = cfg.PropBool("zookeeper.extendedTypesEnabled", false)
	s.tree.Emulate353TTL = cfg.PropBool("zookeeper.emulate353TTLNodes", false)
	s.watches = newWatches(s.auth.CanRead)
	s.tree.Watches = s.watches
	s.lastZxid.Store(s.tree.LastProcessedZxid)
	serverID := int64(1) // standalone servers use 1, as ZooKeeper does
	if !cfg.Standalone() {
		serverID = cfg.ServerID
	}
	s.sessions = NewSessionTracker(serverID, cfg.TickTime)
	for id, to := range s.tree.Sessions {
		s.sessions.Add(id, to)
	}
	var txnLog TxnLog = MemoryLog{}
	if opts.Store != nil {
		s.store = opts.Store
		txnLog = opts.Store.Log()
		s.snaps = newSnapshotter(s, opts.Store)
		// Mismatches met while restoring count, as ZooKeeper counts them.
		s.stats.digestMismatches.Add(int64(opts.Store.LastRestore().DigestErrors))
	}
	s.proc = newProcessor(s, s.tree.LastProcessedZxid)
	s.stats.reset()
	s.newSummaries()
	if cfg.Standalone() {
		s.rep = newStandalone(txnLog, s.snaps, log, s.fail)
		return s, nil
	}
	if s.store == nil {
		return nil, errors.New("an ensemble member needs a data directory")
	}
	s.role.Store(roleLooking)
	qd, err := newQuorumDriver(s, s.proc, opts.CommittedLog)
	if err != nil {
		return nil, err
	}
	s.qd = qd
	return s, nil
}

// fail stops the server after an unrecoverable error.
func (s *Server) fail(err error) {
	select {
	case s.fatal <- err:
	default:
	}
}

func (s *Server) lastProcessedZxid() int64 { return s.lastZxid.Load() }

// readOnly reports read-only mode: an ensemble member cut off from its
// quorum serving read-only clients (readonlymode.enabled).
func (s *Server) readOnly() bool { return s.ro.Load() }

// Server roles.
const (
	roleStandalone int32 = iota
	roleLooking          // in an ensemble, without a leader to serve with
	roleLeader
	roleLearner
)

// acceptingClients reports whether client sessions are served: always
// standalone, and in an ensemble once this server leads or is synced.
func (s *Server) acceptingClients() bool {
	switch s.role.Load() {
	case roleStandalone:
		return true
	case roleLeader, roleLearner:
		return s.qd.serving.Load()
	case roleLooking:
		return s.ro.Load()
	}
	return false
}

// Run serves until ctx is cancelled or a fatal error happens.
func (s *Server) Run(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Clean(s.cfg.DataDir), 0o755); err != nil {
		return fmt.Errorf("dataDir: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.started = time.Now()
	// As ZooKeeper, the metrics provider starts first and its failure is
	// fatal; the AdminServer's is not (see startAdmin).
	metrics, err := s.startMetrics()
	if err != nil {
		return err
	}
	defer metrics.stop(context.Background())
	if s.qd != nil {
		if err := s.qd.start(); err != nil {
			return err
		}
	}
	procDone := make(chan struct{})
	go func() {
		s.proc.run(ctx)
		close(procDone)
	}()
	purgeStop := make(chan struct{})
	defer close(purgeStop)
	if s.store != nil {
		go s.purger(purgeStop)
	}
	s.front = &frontend{srv: s, perIP: make(map[string]int), started: make(chan struct{})}
	addr := s.cfg.ClientAddr()
	runErr := make(chan error, 1)
	go func() {
		runErr <- gnet.Run(s.front, "tcp://"+addr,
			gnet.WithMulticore(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithReuseAddr(true),
			gnet.WithLogger(gnetLogger{s.log}),
		)
	}()
	var admin *adminServer
	select {
	case <-s.front.started:
		s.serving.Store(true)
		admin = s.startAdmin()
		s.log.Info().Str("addr", addr).Str("zxid", hexID(s.tree.LastProcessedZxid)).
			Int("nodes", s.tree.NodeCount()).Int("sessions", len(s.tree.Sessions)).Msg("serving clients")
	case err := <-runErr:
		cancel()
		<-procDone
		if s.qd != nil {
			s.qd.stop()
		}
		return fmt.Errorf("client port %s: %w", addr, err)
	}
	select {
	case <-ctx.Done():
	case err = <-s.fatal:
	case err = <-runErr:
	}
	s.serving.Store(false)
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
	admin.stop(stopCtx)
	metrics.stop(stopCtx)
	_ = s.front.stop(stopCtx)
	stopCancel()
	cancel()
	<-procDone
	if s.rep != nil {
		_ = s.rep.Close()
	}
	if s.qd != nil {
		s.qd.stop()
	}
	s.snaps.wait()
	if s.store != nil {
		if cerr := s.store.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// Addr is the client port address from the config.
func (s *Server) Addr() string { return s.cfg.ClientAddr() }
