package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"zkd/server/tree"
	"zkd/wire"
)

// Options configure a Store. DefaultOptions and OptionsFromProps fill in
// ZooKeeper's defaults; the zero value means no preallocation default, no
// sync, no digests.
type Options struct {
	// DataDir holds snapshots and DataLogDir txn logs (zoo.cfg's dataDir and
	// dataLogDir, without version-2); an empty DataLogDir means DataDir.
	DataDir, DataLogDir string
	// PreAllocSize is the log preallocation step in bytes
	// (zookeeper.preAllocSize, given in KiB there); 0 means 64 MiB and a
	// negative value turns preallocation off.
	PreAllocSize int64
	// ForceSync fdatasyncs the log on each commit (zookeeper.forceSync).
	ForceSync bool
	// FsyncWarn is the sync duration that draws a warning
	// (zookeeper.fsync.warningthresholdms); 0 means 1s.
	FsyncWarn time.Duration
	// TxnLogSizeLimit rolls the log past this many bytes
	// (zookeeper.txnLogSizeLimitInKb); 0 means none.
	TxnLogSizeLimit int64
	// DigestEnabled writes snapshot digests and checks digests while
	// replaying (zookeeper.digest.enabled).
	DigestEnabled bool
	// SerializeLastZxid writes the 3.9 lastProcessedZxid snapshot section
	// (zookeeper.serializeLastProcessedZxid.enabled).
	SerializeLastZxid bool
	// TrustEmpty allows logs without any snapshot
	// (zookeeper.snapshot.trust.empty).
	TrustEmpty bool
	// Compression of new snapshots: "", "gz" or "snappy"
	// (zookeeper.snapshot.compression.method).
	Compression string
	// MaxRecord bounds one log entry or snapshot node (jute.maxbuffer plus
	// zookeeper.jute.maxbuffer.extrasize); 0 means DefaultMaxRecord.
	MaxRecord int
	// ExtendedTypes and Emulate353TTL are set on restored trees
	// (zookeeper.extendedTypesEnabled, zookeeper.emulate353TTLNodes).
	ExtendedTypes, Emulate353TTL bool
	// OnTxnLoaded, when set, sees every txn replayed by Restore after it is
	// applied (a quorum peer keeps them for DIFF syncs).
	OnTxnLoaded func(t *wire.Txn)
	// PauseGC turns the garbage collector off while Restore reads the
	// snapshot: all it allocates is the tree it keeps, which the collector
	// would only mark again and again as it grows. For a process that does
	// nothing else meanwhile, as a server starting up.
	PauseGC bool
	Log     zerolog.Logger
}

// DefaultOptions are ZooKeeper's defaults for the given directories.
func DefaultOptions(dataDir, dataLogDir string) Options {
	return Options{
		DataDir: dataDir, DataLogDir: dataLogDir,
		PreAllocSize: DefaultPreAllocSize, ForceSync: true, FsyncWarn: time.Second,
		DigestEnabled: true, SerializeLastZxid: true, MaxRecord: DefaultMaxRecord,
		Log: zerolog.Nop(),
	}
}

// OptionsFromProps reads the system properties that shape the files, as
// ZooKeeper reads them; prop looks one up (e.g. server.Config.Prop).
func OptionsFromProps(dataDir, dataLogDir string, prop func(name string) (string, bool)) Options {
	o := DefaultOptions(dataDir, dataLogDir)
	str := func(name string) (string, bool) {
		v, ok := prop(name)
		return strings.TrimSpace(v), ok
	}
	num := func(name string) (int64, bool) {
		v, ok := str(name)
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	boolean := func(name string, def bool) bool {
		v, ok := str(name)
		if !ok {
			return def
		}
		return strings.EqualFold(v, "true")
	}
	if n, ok := num("zookeeper.preAllocSize"); ok {
		if n > 0 {
			o.PreAllocSize = n * 1024
		} else {
			o.PreAllocSize = -1
		}
	}
	if v, ok := str("zookeeper.forceSync"); ok {
		o.ForceSync = v != "no"
	}
	if n, ok := num("fsync.warningthresholdms"); ok {
		o.FsyncWarn = time.Duration(n) * time.Millisecond
	}
	if n, ok := num("zookeeper.fsync.warningthresholdms"); ok {
		o.FsyncWarn = time.Duration(n) * time.Millisecond
	}
	if n, ok := num("zookeeper.txnLogSizeLimitInKb"); ok && n > 0 {
		o.TxnLogSizeLimit = n * 1024
	}
	o.DigestEnabled = boolean("zookeeper.digest.enabled", true)
	o.SerializeLastZxid = boolean("zookeeper.serializeLastProcessedZxid.enabled", true)
	o.TrustEmpty = boolean("zookeeper.snapshot.trust.empty", false)
	if v, ok := str("zookeeper.snapshot.compression.method"); ok {
		o.Compression = strings.ToLower(v)
	}
	maxBuf := int64(0xfffff)
	if n, ok := num("jute.maxbuffer"); ok && n > 0 {
		maxBuf = n
	}
	extra := maxBuf
	if n, ok := num("zookeeper.jute.maxbuffer.extrasize"); ok {
		extra = n
	}
	extra = max(extra, 1024)
	o.MaxRecord = int(maxBuf + extra)
	o.ExtendedTypes = boolean("zookeeper.extendedTypesEnabled", false)
	o.Emulate353TTL = boolean("zookeeper.emulate353TTLNodes", false)
	return o
}

// Store is a dataDir/dataLogDir pair (FileTxnSnapLog): the txn log writer,
// snapshots and restore.
type Store struct {
	o       Options
	snapDir string // <dataDir>/version-2
	logDir  string // <dataLogDir>/version-2
	log     zerolog.Logger
	writer  *TxnLogWriter
	snapMu  sync.Mutex
	// Info about the last restore.
	restored RestoreInfo
}

// RestoreInfo describes what Restore found.
type RestoreInfo struct {
	Snapshot     string // the snapshot loaded, "" when none
	SnapshotZxid int64
	Replayed     int   // txns applied from the logs
	LastZxid     int64 // the restored tree's last processed zxid
	DigestErrors int   // digest mismatches met while replaying
	// TxnDigestErrors are those of DigestErrors against the txns' own
	// digests; the rest is the snapshot's stored digest, which a fuzzy
	// snapshot ZooKeeper took under load may hold for no actual state.
	TxnDigestErrors int
	Repaired        []string
	Elapsed         time.Duration
}

// Open prepares the version-2 directories (creating them as ZooKeeper
// does) and checks that snapshots and logs are where they belong.
func Open(o Options) (*Store, error) {
	if o.DataDir == "" {
		return nil, errors.New("persistence: no dataDir")
	}
	if o.DataLogDir == "" {
		o.DataLogDir = o.DataDir
	}
	if !ValidCompression(o.Compression) {
		return nil, fmt.Errorf("persistence: unknown snapshot compression method %q (want gz, snappy or empty)", o.Compression)
	}
	if o.MaxRecord <= 0 {
		o.MaxRecord = DefaultMaxRecord
	}
	s := &Store{
		o:       o,
		snapDir: filepath.Join(o.DataDir, VersionDir),
		logDir:  filepath.Join(o.DataLogDir, VersionDir),
		log:     o.Log,
	}
	for _, d := range []string{s.snapDir, s.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("persistence: %w", err)
		}
	}
	if s.snapDir != s.logDir {
		if err := checkDirContents(s.logDir, SnapshotPrefix+".", "log directory has snapshot files; check that dataLogDir and dataDir are configured correctly"); err != nil {
			return nil, err
		}
		if err := checkDirContents(s.snapDir, LogPrefix+".", "snapshot directory has log files; check that dataLogDir and dataDir are configured correctly"); err != nil {
			return nil, err
		}
	}
	s.removeTemps()
	return s, nil
}

func checkDirContents(dir, badPrefix, msg string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), badPrefix) {
			return fmt.Errorf("persistence: %s (%s)", msg, filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// removeTemps deletes snapshots left half-written by a crash.
func (s *Store) removeTemps() {
	ents, err := os.ReadDir(s.snapDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix+SnapshotPrefix+".") {
			p := filepath.Join(s.snapDir, e.Name())
			if err := os.Remove(p); err == nil {
				s.log.Info().Str("file", p).Msg("removed an unfinished snapshot")
			}
		}
	}
}

// SnapDir and LogDir are the version-2 directories.
func (s *Store) SnapDir() string { return s.snapDir }
func (s *Store) LogDir() string  { return s.logDir }

// Options returns the store's options.
func (s *Store) Options() Options { return s.o }

// LastRestore describes the last Restore.
func (s *Store) LastRestore() RestoreInfo { return s.restored }

// Log is the txn log writer, created on first use. The server appends and
// commits through it and calls Roll after each snapshot.
func (s *Store) Log() *TxnLogWriter {
	if s.writer == nil {
		s.writer = NewTxnLogWriter(s.logDir, s.restored.LastZxid, LogWriterOptions{
			PreAllocSize: s.o.PreAllocSize, ForceSync: s.o.ForceSync, FsyncWarn: s.o.FsyncWarn,
			SizeLimit: s.o.TxnLogSizeLimit, Log: s.log,
		})
	}
	return s.writer
}

// Close closes the log writer.
func (s *Store) Close() error {
	if s.writer != nil {
		return s.writer.Close()
	}
	return nil
}

func (s *Store) readOpts() SnapReadOptions {
	return SnapReadOptions{MaxRecord: s.o.MaxRecord, ExtendedTypes: s.o.ExtendedTypes, Emulate353TTL: s.o.Emulate353TTL}
}

// maxSnapshotTries is how many valid-looking snapshots restore tries.
const maxSnapshotTries = 100

// loadSnapshot loads the newest snapshot that reads back with matching
// seals, trying up to 100 (FileSnap.deserialize). It returns nil when no
// snapshot passes the cheap check.
func (s *Store) loadSnapshot() (*SnapshotFile, error) {
	paths, err := FindValidSnapshots(s.snapDir, maxSnapshotTries)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, nil
	}
	if s.o.PauseGC {
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
	}
	for _, p := range paths {
		s.log.Info().Str("file", p).Msg("reading snapshot")
		start := time.Now()
		sf, err := ReadSnapshotFile(p, s.readOpts())
		if err != nil {
			s.log.Warn().Err(err).Str("file", p).Msg("problem reading snapshot file")
			continue
		}
		s.log.Info().Str("file", p).Int("nodes", sf.Tree.NodeCount()).Dur("elapsed", time.Since(start)).Msg("snapshot read")
		return sf, nil
	}
	return nil, fmt.Errorf("not able to find a valid snapshot in %s", s.snapDir)
}

// Restore rebuilds the database: the newest valid snapshot plus the txns
// after its zxid from the logs (FileTxnSnapLog.restore). A torn record at
// the end of the last log is cut off. With no snapshot and no log it
// returns a fresh tree and writes snapshot.0 for it, as ZooKeeper does;
// with logs but no snapshot it fails unless TrustEmpty is set.
func (s *Store) Restore() (*tree.DataTree, error) {
	start := time.Now()
	info := RestoreInfo{}
	sf, err := s.loadSnapshot()
	if err != nil {
		return nil, err
	}
	var t *tree.DataTree
	var target *ZxidDigest // the snapshot digest still to reach
	if sf == nil {
		last, err := LastLoggedZxid(s.logDir, s.o.MaxRecord)
		if err != nil {
			return nil, err
		}
		t = tree.New()
		t.ExtendedTypes = s.o.ExtendedTypes
		t.Emulate353TTL = s.o.Emulate353TTL
		if last != -1 {
			if !s.o.TrustEmpty {
				return nil, fmt.Errorf("no snapshot found in %s, but there are log entries in %s; something is broken (set zookeeper.snapshot.trust.empty=true only while upgrading from ZooKeeper 3.4)", s.snapDir, s.logDir)
			}
			s.log.Warn().Msg("no snapshot found, but there are log entries; this should only be allowed during upgrading")
		} else {
			info.LastZxid = 0
			info.Elapsed = time.Since(start)
			s.restored = info
			var mu sync.Mutex
			p, err := s.Snapshot(t, &mu)
			if err != nil {
				return nil, fmt.Errorf("initial snapshot: %w", err)
			}
			s.log.Info().Str("file", p).Msg("empty database: wrote the initial snapshot")
			return t, nil
		}
	} else {
		t = sf.Tree
		t.LastProcessedZxid = sf.Zxid
		info.Snapshot, info.SnapshotZxid = sf.Path, sf.Zxid
		if sf.Digest != nil && sf.Digest.Zxid >= sf.Zxid {
			target = sf.Digest
		} else if sf.Digest != nil {
			s.log.Info().Str("digestZxid", "0x"+hexZxid(sf.Digest.Zxid)).Str("snapshotZxid", "0x"+hexZxid(sf.Zxid)).
				Msg("snapshot digest is older than the snapshot; not comparing it")
		}
	}
	if !s.o.DigestEnabled {
		target = nil
	}
	check := &digestCheck{enabled: s.o.DigestEnabled, target: target, log: s.log}
	check.afterTxn(t, t.LastProcessedZxid)

	it, err := ReadTxns(s.logDir, t.LastProcessedZxid+1, IterOptions{MaxRecord: s.o.MaxRecord, Repair: true, NoSync: !s.o.ForceSync, Log: s.log})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	highest := t.LastProcessedZxid
	for it.Next() {
		txn := it.Txn()
		z := txn.Header.Zxid
		if z < highest && highest != 0 {
			s.log.Error().Str("highest", "0x"+hexZxid(highest)).Str("zxid", "0x"+hexZxid(z)).
				Str("type", wire.OpCode(txn.Header.Type).String()).Msg("txn log goes backwards")
		} else {
			highest = z
		}
		r := t.ProcessTxn(txn)
		if r.Err != wire.ErrOK {
			s.log.Debug().Str("zxid", "0x"+hexZxid(z)).Str("type", r.Type.String()).Int("err", int(r.Err)).
				Msg("ignoring an error replaying a txn (fuzzy snapshot)")
		}
		check.afterTxn(t, z)
		check.txnDigest(t, txn)
		info.Replayed++
		if s.o.OnTxnLoaded != nil {
			s.o.OnTxnLoaded(txn)
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	if check.target != nil {
		s.log.Warn().Str("highest", "0x"+hexZxid(highest)).Str("digestZxid", "0x"+hexZxid(check.target.Zxid)).
			Msg("the txns do not reach the snapshot digest zxid; the restored state may be inconsistent")
	}
	if highest > t.LastProcessedZxid {
		t.LastProcessedZxid = highest
	}
	info.LastZxid = t.LastProcessedZxid
	info.DigestErrors, info.TxnDigestErrors = check.mismatches, check.txnErrors
	info.Repaired = it.Repaired
	info.Elapsed = time.Since(start)
	s.restored = info
	if s.writer != nil {
		s.writer.reopen(info.LastZxid)
	}
	s.log.Info().Str("snapshot", info.Snapshot).Int("replayed", info.Replayed).
		Str("zxid", "0x"+hexZxid(info.LastZxid)).Int("nodes", t.NodeCount()).
		Dur("elapsed", info.Elapsed).Msg("restored database")
	return t, nil
}

// digestCheck follows DataTree's digest checks during replay: the
// snapshot's digest is compared once its zxid is reached; before that the
// tree is fuzzy and the txns' digests are not compared.
type digestCheck struct {
	enabled    bool
	target     *ZxidDigest
	log        zerolog.Logger
	mismatches int // all: the snapshot digest's and the txns'
	txnErrors  int // against txn digests only
}

func (c *digestCheck) afterTxn(t *tree.DataTree, z int64) {
	if c.target == nil || z != c.target.Zxid {
		return
	}
	if c.target.Version != wire.DigestVersion {
		c.log.Info().Int32("version", c.target.Version).Msg("snapshot digest version differs; not comparing it")
	} else if got := t.Digest(); got != c.target.Digest {
		c.mismatches++
		c.log.Error().Str("zxid", "0x"+hexZxid(z)).Int64("expected", c.target.Digest).Int64("actual", got).
			Msg("digest mismatch against the snapshot digest")
	}
	c.target = nil
}

func (c *digestCheck) txnDigest(t *tree.DataTree, txn *wire.Txn) {
	if !c.enabled || c.target != nil || txn.Digest == nil || txn.Digest.Version != wire.DigestVersion {
		return
	}
	if got := t.Digest(); got != txn.Digest.TreeDigest {
		c.mismatches++
		c.txnErrors++
		if c.mismatches <= 10 {
			c.log.Error().Str("zxid", "0x"+hexZxid(txn.Header.Zxid)).Int64("expected", txn.Digest.TreeDigest).
				Int64("actual", got).Msg("digest mismatch replaying the txn log")
		}
	}
}

// Snapshot writes a fuzzy snapshot of t (see WriteSnapshot); lock guards
// t. One snapshot runs at a time. The caller rolls the log (Log().Roll())
// when the snapshot starts, as ZooKeeper does.
func (s *Store) Snapshot(t *tree.DataTree, lock sync.Locker) (string, error) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	start := time.Now()
	p, err := WriteSnapshot(s.snapDir, t, lock, SnapWriteOptions{
		Compression: s.o.Compression, Digest: s.o.DigestEnabled, LastZxid: s.o.SerializeLastZxid,
		NoSync: !s.o.ForceSync,
	})
	if err != nil {
		s.log.Error().Err(err).Msg("snapshot failed")
		return "", err
	}
	s.log.Info().Str("file", p).Dur("elapsed", time.Since(start)).Msg("snapshot written")
	return p, nil
}

// TxnsFrom iterates the logged txns with zxid >= z (for a Zab DIFF sync
// or tools). A torn record at the very end just ends it.
func (s *Store) TxnsFrom(z int64) (*TxnIterator, error) {
	return ReadTxns(s.logDir, z, IterOptions{MaxRecord: s.o.MaxRecord, Log: s.log})
}

// Truncate drops every logged txn after z, for a Zab TRUNC
// (FileTxnSnapLog.truncateLog): the writer is closed, the log is cut after
// the txn z and later files are removed; later appends start a new file.
func (s *Store) Truncate(z int64) error {
	if s.writer != nil {
		if err := s.writer.Close(); err != nil {
			return err
		}
	}
	if err := TruncateLog(s.logDir, z, s.log); err != nil {
		return err
	}
	if err := s.removeSnapshotsAfter(z); err != nil {
		return err
	}
	if s.writer != nil {
		s.writer.reopen(z)
	}
	return nil
}

// LastLoggedZxid is the zxid of the newest txn in the logs, -1 with none.
func (s *Store) LastLoggedZxid() (int64, error) { return LastLoggedZxid(s.logDir, s.o.MaxRecord) }
