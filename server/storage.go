package server

import (
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"zkd/persistence"
	"zkd/server/tree"
	"zkd/wire"
)

// openStore opens the data directories and restores the database from
// the newest valid snapshot and the txn logs after it.
func openStore(cfg *Config, log zerolog.Logger, onTxn func(*wire.Txn)) (*persistence.Store, *tree.DataTree, error) {
	o := persistence.OptionsFromProps(cfg.DataDir, cfg.DataLogDir, cfg.Prop)
	o.Log = log
	o.OnTxnLoaded = onTxn
	o.PauseGC = true // nothing else runs yet
	store, err := persistence.Open(o)
	if err != nil {
		return nil, nil, err
	}
	t, err := store.Restore()
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	// ZooKeeper's loadData: ephemerals of sessions the session table no
	// longer has are removed (locally, without a txn).
	for _, owner := range t.EphemeralSessions() {
		if _, ok := t.Sessions[owner]; !ok {
			log.Info().Str("session", hexID(owner)).Msg("removing ephemerals of a dead session")
			t.KillSession(owner, t.LastProcessedZxid, nil)
		}
	}
	// What the restore left (read buffers, replayed txns) is garbage; hand
	// it back to the OS now rather than as the scavenger gets to it, in
	// the background so serving starts at once.
	go debug.FreeOSMemory()
	return store, t, nil
}

// snapshotter decides when to take a snapshot, as SyncRequestProcessor
// does: after snapCount/2 + rand(snapCount/2) txns, or once the log has
// grown by snapSizeLimit/2 + rand(snapSizeLimit/2) bytes, the log rolls and
// a fuzzy snapshot is written in the background (one at a time).
type snapshotter struct {
	srv       *Server
	store     *persistence.Store
	snapCount int64
	sizeLimit int64
	randRoll  int64
	randSize  int64
	count     int64
	running   atomic.Bool
	wg        sync.WaitGroup
}

func newSnapshotter(s *Server, store *persistence.Store) *snapshotter {
	sn := &snapshotter{srv: s, store: store}
	sn.snapCount = s.cfg.PropInt("zookeeper.snapCount", 100000)
	if sn.snapCount < 2 {
		sn.snapCount = 2
	}
	sn.sizeLimit = s.cfg.PropInt("zookeeper.snapSizeLimitInKb", 4194304) * 1024
	sn.reset()
	return sn
}

func (sn *snapshotter) reset() {
	sn.count = 0
	sn.randRoll = rand.Int64N(sn.snapCount / 2)
	if sn.sizeLimit > 0 {
		sn.randSize = rand.Int64N(sn.sizeLimit / 2)
	}
}

// appended is told how many txns were just logged; it runs on the
// goroutine that appends to the log.
func (sn *snapshotter) appended(n int) {
	if sn == nil {
		return
	}
	sn.count += int64(n)
	size := sn.store.Log().BytesSinceRoll()
	if sn.count <= sn.snapCount/2+sn.randRoll && (sn.sizeLimit <= 0 || size <= sn.sizeLimit/2+sn.randSize) {
		return
	}
	sn.reset()
	if err := sn.store.Log().Roll(); err != nil {
		sn.srv.log.Error().Err(err).Msg("cannot roll the txn log")
	}
	sn.start()
}

// start writes a snapshot in the background unless one is running.
func (sn *snapshotter) start() {
	if !sn.running.CompareAndSwap(false, true) {
		sn.srv.log.Warn().Msg("too busy to snapshot, skipping")
		return
	}
	sn.wg.Add(1)
	go func() {
		defer sn.wg.Done()
		defer sn.running.Store(false)
		s := sn.srv
		if _, err := sn.store.Snapshot(s.tree, s.treeMu.RLocker()); err != nil {
			s.log.Error().Err(err).Msg("snapshot failed")
		}
	}()
}

// wait waits for a running snapshot.
func (sn *snapshotter) wait() {
	if sn != nil {
		sn.wg.Wait()
	}
}

// purger runs autopurge: every purgeInterval hours, keep the newest
// snapRetainCount snapshots and the logs they need.
func (s *Server) purger(stop <-chan struct{}) {
	if s.cfg.PurgeInterval <= 0 {
		return
	}
	s.log.Info().Int("intervalHours", s.cfg.PurgeInterval).Int("retain", s.cfg.SnapRetainCount).Msg("autopurge enabled")
	t := time.NewTicker(time.Duration(s.cfg.PurgeInterval) * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			removed, err := persistence.Purge(s.cfg.DataDir, s.cfg.DataLogDir, s.cfg.SnapRetainCount)
			if err != nil {
				s.log.Error().Err(err).Msg("autopurge failed")
				continue
			}
			s.log.Info().Int("removed", len(removed)).Msg("autopurge done")
		}
	}
}
