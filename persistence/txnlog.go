package persistence

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"zkd/jute"
	"zkd/wire"
)

// DefaultPreAllocSize is zookeeper.preAllocSize's default (65536 KiB).
const DefaultPreAllocSize int64 = 64 << 20

// recordEnd closes every log record ('B').
const recordEnd = 'B'

// TxnLog is where a server makes txns durable; it is the server's seam
// (server.TxnLog), repeated here so this package need not import it.
type TxnLog interface {
	Append(t *wire.Txn) error
	Commit() error
	Close() error
}

var _ TxnLog = (*TxnLogWriter)(nil)

// ErrLogClosed is returned by a TxnLogWriter after Close.
var ErrLogClosed = errors.New("persistence: txn log closed")

// TxnLogWriter appends txns to the txn log of a dataLogDir (FileTxnLog's
// writing half). Append buffers; Commit writes and syncs a whole batch
// with one fdatasync (group commit). A new file log.<zxid> starts at the
// first Append and after each Roll.
type TxnLogWriter struct {
	dir       string
	preAlloc  int64
	forceSync bool
	fsyncWarn time.Duration
	sizeLimit int64
	log       zerolog.Logger

	mu       sync.Mutex
	f        *os.File
	path     string
	bw       *bufio.Writer
	pos      int64 // bytes written to the current file (header included)
	size     int64 // current file size with preallocation
	rolled   []*os.File
	dirDirty bool // a file was created since the last directory sync
	enc      jute.Encoder
	zero     [1]byte
	lastZxid int64
	closed   bool

	sinceRoll atomic.Int64
	stats     logStats
}

type logStats struct {
	fsyncs       atomic.Int64
	slowFsyncs   atomic.Int64
	lastFsyncNs  atomic.Int64
	totalFsyncNs atomic.Int64
}

// LogStats are counters a server exports as metrics.
type LogStats struct {
	Fsyncs                 int64         // commits that synced
	FsyncThresholdExceeded int64         // syncs slower than the warning threshold
	LastFsync              time.Duration // duration of the latest sync
	TotalFsync             time.Duration
}

// LogWriterOptions configure a TxnLogWriter.
type LogWriterOptions struct {
	// PreAllocSize is the preallocation step in bytes; 0 means the default
	// 64 MiB and a negative value turns preallocation off.
	PreAllocSize int64
	// ForceSync syncs on Commit (zookeeper.forceSync); without it Commit
	// only hands the data to the OS.
	ForceSync bool
	// FsyncWarn is the sync duration that draws a warning; 0 means 1s.
	FsyncWarn time.Duration
	// SizeLimit rolls the log at Commit once the current file holds more
	// bytes than this (zookeeper.txnLogSizeLimitInKb); 0 means no limit.
	SizeLimit int64
	Log       zerolog.Logger
}

// NewTxnLogWriter returns a writer for the logs in dir (a version-2
// directory, which must exist). lastZxid is the newest zxid already
// logged, used to warn about zxids that go backwards.
func NewTxnLogWriter(dir string, lastZxid int64, o LogWriterOptions) *TxnLogWriter {
	pa := o.PreAllocSize
	if pa == 0 {
		pa = DefaultPreAllocSize
	}
	warn := o.FsyncWarn
	if warn <= 0 {
		warn = time.Second
	}
	return &TxnLogWriter{
		dir: dir, preAlloc: pa, forceSync: o.ForceSync, fsyncWarn: warn,
		sizeLimit: o.SizeLimit, log: o.Log, lastZxid: lastZxid,
	}
}

// Append adds a txn at the end of the log. It is durable only after the
// next Commit.
func (w *TxnLogWriter) Append(t *wire.Txn) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrLogClosed
	}
	z := t.Header.Zxid
	if z <= w.lastZxid {
		w.log.Warn().Str("zxid", "0x"+hexZxid(z)).Str("last", "0x"+hexZxid(w.lastZxid)).
			Str("type", wire.OpCode(t.Header.Type).String()).Msg("current zxid is <= the last logged zxid")
	} else {
		w.lastZxid = z
	}
	if w.f == nil {
		if err := w.create(z); err != nil {
			return err
		}
	}
	if err := w.pad(); err != nil {
		return err
	}
	// One record: long checksum, int length, entry, 'B'. The entry is
	// encoded in place after a 12-byte gap filled in afterwards.
	e := &w.enc
	e.Reset()
	e.Long(0)
	e.Int(0)
	t.Encode(e)
	b := e.Bytes()
	entry := b[12:]
	if len(entry) == 0 {
		return errors.New("persistence: empty txn entry")
	}
	binary.BigEndian.PutUint64(b[0:], uint64(adler32.Checksum(entry)))
	binary.BigEndian.PutUint32(b[8:], uint32(len(entry)))
	e.Byte(recordEnd)
	b = e.Bytes()
	if _, err := w.bw.Write(b); err != nil {
		return fmt.Errorf("txn log %s: %w", w.path, err)
	}
	w.pos += int64(len(b))
	w.sinceRoll.Add(int64(len(b)))
	return nil
}

// create starts log.<zxid>: the header is written and flushed before any
// padding, as ZooKeeper does, so the file never has a zero magic.
func (w *TxnLogWriter) create(z int64) error {
	path := filepath.Join(w.dir, LogName(z))
	if fi, err := os.Stat(path); err == nil {
		w.log.Warn().Str("file", path).Int64("size", fi.Size()).Msg("replacing an existing txn log file")
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("txn log: %w", err)
	}
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, 64<<10)
	} else {
		w.bw.Reset(f)
	}
	var e jute.Encoder
	(&jute.FileHeader{Magic: TxnLogMagic, Version: FormatVersion, DBID: 0}).Encode(&e)
	if _, err := w.bw.Write(e.Bytes()); err == nil {
		err = w.bw.Flush()
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("txn log %s: %w", path, err)
	}
	w.f, w.path = f, path
	w.pos = int64(e.Len())
	w.size = w.pos
	w.dirDirty = true
	return nil
}

// pad extends the file ahead of the writes in preAlloc steps, writing one
// zero byte at the new end (a sparse file), so that fdatasync after an
// append has no file size to update (FilePadding.padFile).
func (w *TxnLogWriter) pad() error {
	ns := paddedSize(w.pos, w.size, w.preAlloc)
	if ns == w.size {
		return nil
	}
	if _, err := w.f.WriteAt(w.zero[:], ns-1); err != nil {
		return fmt.Errorf("txn log %s: preallocate: %w", w.path, err)
	}
	w.size = ns
	return nil
}

// paddedSize is FilePadding.calculateFileSizeWithPadding: within 4 KiB of
// the end, grow by one step (or, past the end, to the next step boundary
// after position).
func paddedSize(position, size, preAlloc int64) int64 {
	if preAlloc > 0 && position+4096 >= size {
		if position > size {
			size = position + preAlloc
			size -= size % preAlloc
		} else {
			size += preAlloc
		}
	}
	return size
}

// Commit writes the buffered txns and, with forceSync, fdatasyncs every
// file that has them: one sync covers the whole batch.
func (w *TxnLogWriter) Commit() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrLogClosed
	}
	if w.f != nil {
		if err := w.bw.Flush(); err != nil {
			return fmt.Errorf("txn log %s: %w", w.path, err)
		}
	}
	for len(w.rolled) > 0 {
		f := w.rolled[0]
		if w.forceSync {
			if err := w.sync(f); err != nil {
				return err
			}
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("txn log %s: %w", f.Name(), err)
		}
		w.rolled = w.rolled[1:]
	}
	if w.f != nil && w.forceSync {
		if err := w.sync(w.f); err != nil {
			return err
		}
	}
	if w.dirDirty && w.forceSync {
		if err := syncDir(w.dir); err != nil {
			return fmt.Errorf("txn log dir %s: %w", w.dir, err)
		}
	}
	w.dirDirty = false
	if w.sizeLimit > 0 && w.f != nil && w.pos > w.sizeLimit {
		w.rollLocked()
	}
	return nil
}

func (w *TxnLogWriter) sync(f *os.File) error {
	start := time.Now()
	err := fdatasync(f)
	d := time.Since(start)
	w.stats.fsyncs.Add(1)
	w.stats.lastFsyncNs.Store(int64(d))
	w.stats.totalFsyncNs.Add(int64(d))
	if err != nil {
		return fmt.Errorf("txn log %s: fsync: %w", f.Name(), err)
	}
	if d > w.fsyncWarn {
		w.stats.slowFsyncs.Add(1)
		ev := w.log.Warn().Str("file", f.Name()).Int64("ms", d.Milliseconds())
		if fi, err := f.Stat(); err == nil {
			ev = ev.Int64("size", fi.Size())
		}
		ev.Msg("fsync-ing the write ahead log took long, which will adversely effect operation latency; see the ZooKeeper troubleshooting guide")
	}
	return nil
}

// Roll makes the next Append start a new log file. The current file is
// flushed now and synced and closed by the next Commit (FileTxnLog.rollLog).
func (w *TxnLogWriter) Roll() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrLogClosed
	}
	if w.f == nil {
		w.sinceRoll.Store(0)
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("txn log %s: %w", w.path, err)
	}
	w.rollLocked()
	return nil
}

func (w *TxnLogWriter) rollLocked() {
	w.rolled = append(w.rolled, w.f)
	w.f, w.path = nil, ""
	w.pos, w.size = 0, 0
	w.sinceRoll.Store(0)
}

// BytesSinceRoll is the number of log bytes appended since the last roll
// (for zookeeper.snapSizeLimitInKb). Unlike ZooKeeper, which counts the
// preallocated file length, it counts bytes actually written.
func (w *TxnLogWriter) BytesSinceRoll() int64 { return w.sinceRoll.Load() }

// LastZxid is the newest zxid appended (or known at open).
func (w *TxnLogWriter) LastZxid() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastZxid
}

// CurrentFile is the path of the file being appended to, "" between
// rolls.
func (w *TxnLogWriter) CurrentFile() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.path
}

// Stats returns the sync counters.
func (w *TxnLogWriter) Stats() LogStats {
	return LogStats{
		Fsyncs:                 w.stats.fsyncs.Load(),
		FsyncThresholdExceeded: w.stats.slowFsyncs.Load(),
		LastFsync:              time.Duration(w.stats.lastFsyncNs.Load()),
		TotalFsync:             time.Duration(w.stats.totalFsyncNs.Load()),
	}
}

// Close flushes, syncs (with forceSync) and closes every open file. The
// writer cannot be used afterwards.
func (w *TxnLogWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if w.f != nil {
		keep(w.bw.Flush())
		w.rolled = append(w.rolled, w.f)
		w.f = nil
	}
	for _, f := range w.rolled {
		if w.forceSync {
			keep(fdatasync(f))
		}
		keep(f.Close())
	}
	w.rolled = nil
	if w.dirDirty && w.forceSync {
		keep(syncDir(w.dir))
	}
	return first
}

// reopen lets a closed writer be used again, after a truncation.
func (w *TxnLogWriter) reopen(lastZxid int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = false
	w.lastZxid = lastZxid
	w.sinceRoll.Store(0)
}
