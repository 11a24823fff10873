// Package persistence stores a ZooKeeper database on disk in Apache
// ZooKeeper's own formats, so that zkd and ZooKeeper 3.8 can take turns on
// one dataDir: txn logs (FileTxnLog: log.<hex zxid>), fuzzy snapshots
// (FileSnap: snapshot.<hex zxid>[.gz|.snappy]), restore (FileTxnSnapLog:
// the newest valid snapshot plus a replay of the logs), verification and
// purging (PurgeTxnLog). Files live under <dir>/version-2.
//
// # Using it from a server
//
// At startup:
//
//	o := persistence.OptionsFromProps(cfg.DataDir, cfg.DataLogDir, cfg.Prop)
//	o.Log = logger
//	st, err := persistence.Open(o)   // creates version-2, checks the dirs
//	t, err := st.Restore()           // snapshot + replay; torn log tail cut;
//	                                 // an empty dir gets snapshot.0
//	// hand t and st.Log() (a TxnLog) to the server
//
// Per batch of txns (one goroutine): Log().Append each txn, then
// Log().Commit() once (one fdatasync: group commit), then apply.
//
// Snapshots: count txns (and Log().BytesSinceRoll()) as SyncRequestProcessor
// does; past snapCount/2+rand(snapCount/2) call Log().Roll() right after a
// Commit, before the next Append, then run st.Snapshot(tree, lock) in a
// goroutine, one at a time. lock guards the tree: the tree's RWMutex
// RLocker() is enough, as only the apply goroutine writes.
//
// Quorum: TxnsFrom(zxid) feeds DIFF syncs (Entry() is the PROPOSAL
// payload), Truncate(zxid) is TRUNC, LastLoggedZxid() is what a learner
// reports. Purge is autopurge and zkCleanup.sh.
package persistence
