package persistence

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"

	"github.com/rs/zerolog"

	"zkd/jute"
	"zkd/wire"
)

// DefaultMaxRecord bounds one log entry: jute.maxbuffer plus its default
// extra size, the limit of BinaryInputArchive.readBuffer.
const DefaultMaxRecord = 2 * 0xfffff

// CorruptError reports a damaged txn log or snapshot file.
type CorruptError struct {
	File   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt file %s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// recordFault is why a log record could not be read.
type recordFault int

const (
	faultNone    recordFault = iota
	faultEOF                 // the file ends inside the record
	faultLength              // the length is negative or too large
	faultEnd                 // the byte after the entry is not 'B'
	faultCRC                 // the checksum does not match
	faultDecode              // checksum fine, but the entry is no txn
	faultHeader              // bad file header
	faultNoMagic             // wrong magic number
)

var faultText = [...]string{
	faultNone:    "",
	faultEOF:     "file ends inside a record (torn write)",
	faultLength:  "invalid record length",
	faultEnd:     "record does not end with 'B' (partial write)",
	faultCRC:     "CRC check failed",
	faultDecode:  "undecodable txn",
	faultHeader:  "file ends inside the file header",
	faultNoMagic: "invalid magic number (not a txn log)",
}

// LogFileReader reads the records of one txn log file in order.
type LogFileReader struct {
	path   string
	src    io.ReaderAt
	f      *os.File // nil for in-memory sources
	r      *bufio.Reader
	off    int64 // offset of the next record
	size   int64
	max    int
	buf    []byte
	Header jute.FileHeader

	// The last record read: its entry and where it starts.
	entry  []byte
	recOff int64
	fault  recordFault
	// recEnd is where a faulty record would end, -1 if unknown.
	recEnd int64
	detail string
}

// OpenLogFile opens a txn log file and reads its header. maxRecord bounds
// an entry (0: DefaultMaxRecord). An empty or short file reads as a
// faultHeader record fault, reported by Next.
func OpenLogFile(path string, maxRecord int) (*LogFileReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	lr, err := NewLogReader(path, f, fi.Size(), maxRecord)
	if err != nil {
		f.Close()
		return nil, err
	}
	lr.f = f
	return lr, nil
}

// NewLogReader reads a txn log held by src (size bytes); name is used in
// errors.
func NewLogReader(name string, src io.ReaderAt, size int64, maxRecord int) (*LogFileReader, error) {
	if maxRecord <= 0 {
		maxRecord = DefaultMaxRecord
	}
	lr := &LogFileReader{path: name, src: src, r: bufio.NewReaderSize(io.NewSectionReader(src, 0, size), 64<<10), size: size, max: maxRecord, recEnd: -1}
	var hb [16]byte
	if _, err := io.ReadFull(lr.r, hb[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			lr.fault = faultHeader
			return lr, nil
		}
		return nil, fmt.Errorf("txn log %s: %w", name, err)
	}
	lr.off = 16
	lr.Header.Decode(jute.NewDecoder(hb[:]))
	if lr.Header.Magic != TxnLogMagic {
		lr.fault = faultNoMagic
		lr.recOff = 0
	}
	return lr, nil
}

// Path is the file's path.
func (lr *LogFileReader) Path() string { return lr.path }

// Size is the file's size when opened.
func (lr *LogFileReader) Size() int64 { return lr.size }

// Offset is where the next record starts (after Next: where the record
// just read ends).
func (lr *LogFileReader) Offset() int64 { return lr.off }

// RecordOffset is where the last record read starts.
func (lr *LogFileReader) RecordOffset() int64 { return lr.recOff }

// Close closes the file.
func (lr *LogFileReader) Close() error {
	if lr.f == nil {
		return nil
	}
	return lr.f.Close()
}

// Next reads the next record's entry bytes, valid until the following
// call. It returns io.EOF at the end of the records: the end of the file
// or the zero padding of preallocation (an entry of length 0). A damaged
// record is a *CorruptError.
func (lr *LogFileReader) Next() ([]byte, error) {
	if lr.fault != faultNone {
		return nil, lr.faultErr()
	}
	lr.recOff = lr.off
	lr.recEnd = -1
	var pre [12]byte
	n, err := io.ReadFull(lr.r, pre[:])
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			// Zeros up to the end are padding, not a torn record.
			if allZero(pre[:n]) {
				return nil, io.EOF
			}
			return nil, lr.fail(faultEOF, "")
		}
		return nil, fmt.Errorf("txn log %s: %w", lr.path, err)
	}
	crc := binary.BigEndian.Uint64(pre[0:])
	length := int32(binary.BigEndian.Uint32(pre[8:]))
	if length == 0 {
		if crc == 0 {
			return nil, io.EOF // preallocated zeros: the end
		}
		// A checksum without a length: a write torn after 8 bytes.
		return nil, lr.fail(faultLength, "length 0 with a checksum")
	}
	if length < 0 || int(length) > lr.max {
		if length > 0 && lr.recOff+12+int64(length)+1 > lr.size {
			return nil, lr.fail(faultEOF, fmt.Sprintf("length %d", length))
		}
		return nil, lr.fail(faultLength, fmt.Sprintf("length %d", length))
	}
	lr.recEnd = lr.recOff + 12 + int64(length) + 1
	if cap(lr.buf) < int(length)+1 {
		lr.buf = make([]byte, int(length)+1, max(int(length)+1, 2*cap(lr.buf)))
	}
	b := lr.buf[:int(length)+1]
	if _, err := io.ReadFull(lr.r, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, lr.fail(faultEOF, "")
		}
		return nil, fmt.Errorf("txn log %s: %w", lr.path, err)
	}
	entry := b[:length]
	if b[length] != recordEnd {
		return nil, lr.fail(faultEnd, "")
	}
	if sum := adler32.Checksum(entry); uint64(sum) != crc {
		return nil, lr.fail(faultCRC, fmt.Sprintf("stored %d, computed %d", crc, sum))
	}
	lr.off = lr.recEnd
	lr.entry = entry
	return entry, nil
}

func (lr *LogFileReader) fail(f recordFault, detail string) error {
	lr.fault = f
	lr.detail = detail
	return lr.faultErr()
}

func (lr *LogFileReader) faultErr() error {
	msg := faultText[lr.fault]
	if lr.detail != "" {
		msg += " (" + lr.detail + ")"
	}
	return &CorruptError{File: lr.path, Offset: lr.recOff, Reason: msg}
}

// tornTail reports whether the faulty record can be a write cut short by
// a crash: the file ends inside it, or nothing but zeros follows it (the
// preallocated space a torn write leaves behind).
func (lr *LogFileReader) tornTail() (bool, error) {
	switch lr.fault {
	case faultEOF, faultHeader:
		return true, nil
	case faultEnd, faultCRC:
		return zerosFrom(lr.src, lr.recEnd, lr.size)
	case faultLength:
		return zerosFrom(lr.src, lr.recOff+12, lr.size)
	}
	return false, nil
}

// zerosFrom reports whether f holds only zero bytes in [from, size).
func zerosFrom(f io.ReaderAt, from, size int64) (bool, error) {
	buf := make([]byte, min(256<<10, max(size-from, 1)))
	for off := from; off < size; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if !allZero(buf[:n]) {
			return false, nil
		}
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// TxnIterator reads txns in zxid order across the log files of a
// directory (FileTxnLog.FileTxnIterator). Use it as
//
//	for it.Next() { t := it.Txn() ... }
//	if err := it.Err(); err != nil { ... }
//	it.Close()
type TxnIterator struct {
	files    []dataFile // files not yet opened, ascending
	cur      *LogFileReader
	from     int64
	max      int
	repair   bool
	noSync   bool
	log      zerolog.Logger
	txn      wire.Txn
	entry    []byte
	err      error
	lastGood int64 // zxid of the last good record of the current file
	prev     int64 // zxid of the last txn returned, 0 before the first
	// Gaps counts breaks in zxid continuity met on the way.
	Gaps int
	// Repaired names files cut or removed to drop a torn tail.
	Repaired []string
}

// IterOptions configure a TxnIterator.
type IterOptions struct {
	// MaxRecord bounds one entry (0: DefaultMaxRecord).
	MaxRecord int
	// Repair truncates a torn record at the tail of the last file and
	// deletes a last file torn inside its header, as startup recovery
	// does. Without it the torn tail just ends the iteration (a writer may
	// still be appending).
	Repair bool
	// NoSync skips the fdatasync after a repair (zookeeper.forceSync=no).
	NoSync bool
	Log    zerolog.Logger
}

// ReadTxns returns an iterator over the txns with zxid >= from in the log
// files of dir (a version-2 directory).
func ReadTxns(dir string, from int64, o IterOptions) (*TxnIterator, error) {
	all, err := listFiles(dir, LogPrefix, false)
	if err != nil {
		return nil, err
	}
	it := &TxnIterator{
		files: logFilesFrom(all, from), from: from, max: o.MaxRecord,
		repair: o.Repair, noSync: o.NoSync, log: o.Log,
	}
	if from > 0 {
		it.prev = from - 1
	}
	return it, nil
}

// Next advances to the next txn. It returns false at the end or on an
// error (see Err).
func (it *TxnIterator) Next() bool {
	if it.err != nil {
		return false
	}
	for {
		if it.cur == nil {
			if len(it.files) == 0 {
				return false
			}
			f := it.files[0]
			it.files = it.files[1:]
			lr, err := OpenLogFile(f.Path, it.max)
			if err != nil {
				it.err = err
				return false
			}
			it.cur = lr
			it.lastGood = f.Zxid - 1
		}
		entry, err := it.cur.Next()
		if err == io.EOF {
			it.closeCur()
			continue
		}
		if err != nil {
			if !it.handleFault(err) {
				return false
			}
			continue
		}
		t, derr := wire.DecodeTxn(entry)
		if derr != nil {
			it.err = &CorruptError{File: it.cur.path, Offset: it.cur.recOff, Reason: "undecodable txn: " + derr.Error()}
			return false
		}
		z := t.Header.Zxid
		it.lastGood = z
		if z < it.from {
			continue
		}
		if it.prev != 0 && !zxidFollows(it.prev, z) {
			it.Gaps++
			it.log.Warn().Str("file", it.cur.path).Int64("offset", it.cur.recOff).
				Str("prev", "0x"+hexZxid(it.prev)).Str("zxid", "0x"+hexZxid(z)).Msg("gap in the txn log zxids")
		}
		it.prev = z
		it.txn = t
		it.entry = entry
		return true
	}
}

// handleFault decides what a damaged record means. At the tail of the
// last file it is a write cut short by a crash: the end (cut off with
// Repair). At the tail of an earlier file it is tolerated when the next
// file carries on from the last good txn, which is what ZooKeeper leaves
// after recovering from such a crash. Anywhere else it is an error.
func (it *TxnIterator) handleFault(ferr error) bool {
	lr := it.cur
	var ce *CorruptError
	if !errors.As(ferr, &ce) {
		it.err = ferr
		return false
	}
	if lr.fault == faultNoMagic {
		it.err = ferr
		return false
	}
	torn, err := lr.tornTail()
	if err != nil {
		it.err = err
		return false
	}
	if !torn {
		it.err = ferr
		return false
	}
	if len(it.files) > 0 {
		next := it.files[0].Zxid
		if next <= it.lastGood+1 || zxidFollows(it.lastGood, next) {
			it.log.Warn().Str("file", lr.path).Int64("offset", lr.recOff).Str("reason", ce.Reason).
				Msg("torn record at the end of a txn log file that a later file continues; ignored")
			it.closeCur()
			return true
		}
		it.err = fmt.Errorf("%w; the next log file starts at 0x%s, after a gap from 0x%s", ferr, hexZxid(next), hexZxid(it.lastGood))
		return false
	}
	if it.repair {
		if err := it.cutTail(lr); err != nil {
			it.err = err
			return false
		}
	}
	it.closeCur()
	return false
}

// cutTail drops a torn tail: a file torn inside its header is removed,
// otherwise the file is truncated where the torn record starts.
func (it *TxnIterator) cutTail(lr *LogFileReader) error {
	path, off := lr.path, lr.recOff
	if lr.fault == faultHeader {
		it.log.Warn().Str("file", path).Int64("size", lr.size).Msg("deleting a txn log file torn inside its header")
		if err := os.Remove(path); err != nil {
			return err
		}
	} else {
		it.log.Warn().Str("file", path).Int64("offset", off).Str("reason", faultText[lr.fault]).
			Msg("truncating a torn record at the end of the txn log")
		if err := truncateFile(path, off, !it.noSync); err != nil {
			return fmt.Errorf("truncate %s: %w", path, err)
		}
	}
	it.Repaired = append(it.Repaired, path)
	return nil
}

func (it *TxnIterator) closeCur() {
	if it.cur != nil {
		it.cur.Close()
		it.cur = nil
	}
}

// Txn is the current txn.
func (it *TxnIterator) Txn() *wire.Txn { return &it.txn }

// Entry is the current txn's serialized entry (as a Zab PROPOSAL carries
// it); valid until the next call to Next.
func (it *TxnIterator) Entry() []byte { return it.entry }

// File is the file the current txn was read from.
func (it *TxnIterator) File() string {
	if it.cur == nil {
		return ""
	}
	return it.cur.path
}

// Err is the error that stopped the iteration, if any.
func (it *TxnIterator) Err() error { return it.err }

// Close releases the open file.
func (it *TxnIterator) Close() error {
	it.closeCur()
	it.files = nil
	return nil
}

// LastLoggedZxid is the zxid of the newest txn in the logs of dir, or -1
// when there are no log files (FileTxnLog.getLastLoggedZxid: the name of
// the newest file when it holds no txn).
func LastLoggedZxid(dir string, maxRecord int) (int64, error) {
	files, err := listFiles(dir, LogPrefix, false)
	if err != nil || len(files) == 0 {
		return -1, err
	}
	last := files[len(files)-1].Zxid
	z := last
	it, err := ReadTxns(dir, last, IterOptions{MaxRecord: maxRecord})
	if err != nil {
		return -1, err
	}
	defer it.Close()
	for it.Next() {
		z = it.Txn().Header.Zxid
	}
	return z, it.Err()
}

// TruncateLog cuts the logs of dir right after the txn with zxid z (the
// first txn >= z) and deletes every later log file, as
// FileTxnLog.truncate does for a Zab TRUNC.
func TruncateLog(dir string, z int64, log zerolog.Logger) error {
	all, err := listFiles(dir, LogPrefix, false)
	if err != nil {
		return err
	}
	files := logFilesFrom(all, z)
	if len(files) == 0 {
		return fmt.Errorf("no log files found to truncate to 0x%s in %s", hexZxid(z), dir)
	}
	for i, f := range files {
		lr, err := OpenLogFile(f.Path, 0)
		if err != nil {
			return err
		}
		found := false
		for {
			entry, err := lr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				lr.Close()
				return err
			}
			t, err := wire.DecodeTxn(entry)
			if err != nil {
				lr.Close()
				return &CorruptError{File: f.Path, Offset: lr.recOff, Reason: "undecodable txn: " + err.Error()}
			}
			if t.Header.Zxid >= z {
				found = true
				break
			}
		}
		pos := lr.Offset()
		lr.Close()
		if !found {
			continue
		}
		if err := truncateFile(f.Path, pos, true); err != nil {
			return err
		}
		log.Info().Str("file", f.Path).Int64("offset", pos).Str("zxid", "0x"+hexZxid(z)).Msg("truncated txn log")
		for _, later := range files[i+1:] {
			if err := os.Remove(later.Path); err != nil {
				log.Warn().Err(err).Str("file", later.Path).Msg("unable to delete txn log after truncation")
			}
		}
		return syncDir(dir)
	}
	return fmt.Errorf("no txn with zxid >= 0x%s in the logs of %s", hexZxid(z), dir)
}

func truncateFile(path string, size int64, sync bool) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil && sync {
		err = fdatasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
