package persistence

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

// Compression methods (zookeeper.snapshot.compression.method).
const (
	CompressNone   = ""
	CompressGzip   = "gz"
	CompressSnappy = "snappy"
)

// ValidCompression reports whether m is a compression method ZooKeeper
// knows.
func ValidCompression(m string) bool {
	return m == CompressNone || m == CompressGzip || m == CompressSnappy
}

// streamMode is the compression a snapshot file name implies: its last
// extension, compared without case (SnapStream.getStreamMode).
func streamMode(name string) string {
	parts := strings.Split(filepath.Base(name), ".")
	if len(parts) > 1 {
		switch strings.ToLower(parts[len(parts)-1]) {
		case CompressGzip:
			return CompressGzip
		case CompressSnappy:
			return CompressSnappy
		}
	}
	return CompressNone
}

// ZxidDigest is a snapshot's digest section: the tree digest right after
// the txn Zxid.
type ZxidDigest struct {
	Zxid    int64
	Version int32
	Digest  int64
}

// SnapshotFile is a snapshot read back.
type SnapshotFile struct {
	Path   string
	Zxid   int64 // from the file name; -1 when the name has none
	Header jute.FileHeader
	Tree   *tree.DataTree
	// DigestSection tells whether the file has a digest section; Digest is
	// nil when it has none or an empty one (zxid 0).
	DigestSection bool
	Digest        *ZxidDigest
	// LastZxid is the 3.9 lastProcessedZxid section, when present.
	HasLastZxid bool
	LastZxid    int64
	// Bytes is the length of the uncompressed stream up to the last seal.
	Bytes int64
}

// SnapReadOptions configure snapshot reading.
type SnapReadOptions struct {
	// MaxRecord bounds one node's data (0: DefaultMaxRecord).
	MaxRecord     int
	ExtendedTypes bool
	Emulate353TTL bool
}

// ReadSnapshotFile reads and checks a whole snapshot file; the compression
// comes from its name.
func ReadSnapshotFile(path string, o SnapReadOptions) (*SnapshotFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sf, err := ReadSnapshot(bufio.NewReaderSize(f, 256<<10), streamMode(path), o)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	sf.Path = path
	sf.Zxid = ZxidFromName(filepath.Base(path), SnapshotPrefix)
	return sf, nil
}

// ReadSnapshot reads a snapshot stream compressed with mode, checking
// every seal (FileSnap.deserialize).
func ReadSnapshot(r io.Reader, mode string, o SnapReadOptions) (*SnapshotFile, error) {
	switch mode {
	case CompressGzip:
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer gz.Close()
		r = gz
	case CompressSnappy:
		sr, err := newSnappyReader(r)
		if err != nil {
			return nil, err
		}
		r = sr
	}
	maxRec := o.MaxRecord
	if maxRec <= 0 {
		maxRec = DefaultMaxRecord
	}
	h := adler32.New()
	s := jute.NewStream(r, 2*maxRec+64<<10)
	s.Hash = h
	sf := &SnapshotFile{Zxid: -1}
	if err := s.Decode(sf.Header.Decode); err != nil {
		return nil, fmt.Errorf("file header: %w", err)
	}
	if sf.Header.Magic != SnapshotMagic {
		return nil, fmt.Errorf("mismatching magic headers %d != %d", sf.Header.Magic, SnapshotMagic)
	}
	t, err := tree.ReadSnapshot(s)
	if err != nil {
		return nil, err
	}
	if err := checkSeal(s, h); err != nil {
		return nil, err
	}
	// What follows the first seal is short: the digest section and the
	// 3.9 lastProcessedZxid section, each sealed. Read a bounded tail.
	tail := append([]byte(nil), s.Buffered()...)
	more, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	tail = append(tail, more...)
	sf.Bytes = s.Consumed
	if err := sf.readSections(tail, h); err != nil {
		return nil, err
	}
	t.ExtendedTypes = o.ExtendedTypes
	t.Emulate353TTL = o.Emulate353TTL
	t.Finish()
	sf.Tree = t
	return sf, nil
}

// checkSeal reads a seal (long adler32 of everything before it, then the
// string "/") and compares it (SnapStream.checkSealIntegrity).
func checkSeal(s *jute.Stream, h hash.Hash32) error {
	want := uint64(h.Sum32())
	var got uint64
	if err := s.Decode(func(d *jute.Decoder) {
		got = uint64(d.Long())
		d.StringBytes()
	}); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	if got != want {
		return fmt.Errorf("CRC corruption: seal %d, computed %d", got, want)
	}
	return nil
}

// readSections parses the optional sealed sections after the first seal.
// Each is accepted only when its seal matches, which also tells the two
// layouts apart (digest then lastZxid, or lastZxid alone).
func (sf *SnapshotFile) readSections(tail []byte, h hash.Hash32) error {
	if len(tail) == 0 {
		return nil
	}
	if n, dg, ok := sealedDigest(tail, h); ok {
		sf.DigestSection = true
		if dg.Zxid > 0 {
			sf.Digest = &dg
		}
		sf.Bytes += int64(n)
		tail = tail[n:]
		if len(tail) == 0 {
			return nil
		}
	}
	if n, z, ok := sealedLong(tail, h); ok {
		sf.HasLastZxid = true
		sf.LastZxid = z
		sf.Bytes += int64(n)
		return nil
	}
	if sf.DigestSection {
		return nil // 3.8 readers ignore what follows the digest too
	}
	return errors.New("CRC corruption: unreadable section after the first seal")
}

// cloneHash copies an adler32 state so that a section can be tried
// without committing to it.
func cloneHash(h hash.Hash32) hash.Hash32 {
	st, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
	c := adler32.New()
	_ = c.(encoding.BinaryUnmarshaler).UnmarshalBinary(st)
	return c
}

// sealedDigest parses {long zxid; int version; long digest | ustring hex}
// and its seal. On success h has absorbed the section.
func sealedDigest(b []byte, h hash.Hash32) (int, ZxidDigest, bool) {
	d := jute.NewDecoder(b)
	var dg ZxidDigest
	dg.Zxid = d.Long()
	dg.Version = d.Int()
	if dg.Version < 2 {
		// Digest versions before 2 stored the digest as a hex string.
		if s := d.StringBytes(); len(s) > 0 {
			v, err := strconv.ParseUint(string(s), 16, 64)
			if err != nil {
				return 0, dg, false
			}
			dg.Digest = int64(v)
		}
	} else {
		dg.Digest = d.Long()
	}
	n, ok := sealAt(b, d, h)
	return n, dg, ok
}

// sealedLong parses {long v} and its seal.
func sealedLong(b []byte, h hash.Hash32) (int, int64, bool) {
	d := jute.NewDecoder(b)
	v := d.Long()
	n, ok := sealAt(b, d, h)
	return n, v, ok
}

// sealAt checks the seal after the section b[:d.Offset()].
func sealAt(b []byte, d *jute.Decoder, h hash.Hash32) (int, bool) {
	if d.Err() != nil {
		return 0, false
	}
	sec := d.Offset()
	val := d.Long()
	if p := d.StringBytes(); d.Err() != nil || string(p) != "/" {
		return 0, false
	}
	c := cloneHash(h)
	c.Write(b[:sec])
	if uint64(c.Sum32()) != uint64(val) {
		return 0, false
	}
	h.Write(b[:d.Offset()])
	return d.Offset(), true
}

// IsValidSnapshot is ZooKeeper's cheap check before loading
// (SnapStream.isValidSnapshot): an uncompressed file must be at least 10
// bytes and end with the seal's "/" (00 00 00 01 2F); a gzip or snappy
// file must start with its magic.
func IsValidSnapshot(path string) bool {
	if ZxidFromName(filepath.Base(path), SnapshotPrefix) == -1 {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	switch streamMode(path) {
	case CompressGzip:
		var m [2]byte
		_, err := io.ReadFull(f, m[:])
		return err == nil && m[0] == 0x1f && m[1] == 0x8b
	case CompressSnappy:
		var m [8]byte
		_, err := io.ReadFull(f, m[:])
		return err == nil && m == snappyMagic
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() < 10 {
		return false
	}
	var end [5]byte
	if _, err := f.ReadAt(end[:], fi.Size()-5); err != nil {
		return false
	}
	return bytes.Equal(end[:], []byte{0, 0, 0, 1, '/'})
}

// FindValidSnapshots returns up to n snapshots of dir (a version-2
// directory) that pass IsValidSnapshot, newest first
// (FileSnap.findNValidSnapshots).
func FindValidSnapshots(dir string, n int) ([]string, error) {
	files, err := listFiles(dir, SnapshotPrefix, true)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		if len(out) >= n {
			break
		}
		if IsValidSnapshot(f.Path) {
			out = append(out, f.Path)
		}
	}
	return out, nil
}

// SnapWriteOptions configure snapshot writing.
type SnapWriteOptions struct {
	Compression string // "", "gz" or "snappy"
	// Digest writes the digest section (zookeeper.digest.enabled).
	Digest bool
	// LastZxid writes the 3.9 lastProcessedZxid section
	// (zookeeper.serializeLastProcessedZxid.enabled).
	LastZxid bool
	// NoSync skips the fsyncs (tests and tools only).
	NoSync bool
}

// countingWriter feeds the snapshot checksum with the uncompressed bytes.
type checkedWriter struct {
	w io.Writer
	h hash.Hash32
	n int64
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return c.w.Write(p)
}

func (c *checkedWriter) seal() error {
	var e jute.Encoder
	e.Long(int64(c.h.Sum32()))
	e.String("/")
	_, err := c.Write(e.Bytes())
	return err
}

// WriteSnapshot writes a fuzzy snapshot of t to dir as
// snapshot.<lastProcessedZxid>[.ext] and returns its path. lock guards t:
// it is held to pin the snapshot's start and end and for short stretches
// of the node walk, so writers keep going meanwhile. The file is written
// under a temporary name, synced, and renamed into place.
func WriteSnapshot(dir string, t *tree.DataTree, lock sync.Locker, o SnapWriteOptions) (string, error) {
	if !ValidCompression(o.Compression) {
		return "", fmt.Errorf("unknown snapshot compression method %q", o.Compression)
	}
	lock.Lock()
	snap := t.BeginSnapshot()
	lock.Unlock()
	ended := false
	var lastZxid, digest int64
	end := func() {
		if !ended {
			ended = true
			lock.Lock()
			lastZxid, digest = t.LastProcessedZxid, t.Digest()
			snap.End()
			lock.Unlock()
		}
	}
	defer end()

	name := SnapshotName(snap.StartZxid, o.Compression)
	path := filepath.Join(dir, name)
	tmp := filepath.Join(dir, tmpPrefix+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	var comp io.WriteCloser
	var w io.Writer = bw
	switch o.Compression {
	case CompressGzip:
		comp = gzip.NewWriter(bw)
		w = comp
	case CompressSnappy:
		comp = newSnappyWriter(bw)
		w = comp
	}
	cw := &checkedWriter{w: w, h: adler32.New()}
	var e jute.Encoder
	(&jute.FileHeader{Magic: SnapshotMagic, Version: FormatVersion, DBID: -1}).Encode(&e)
	if _, err := cw.Write(e.Bytes()); err != nil {
		return "", err
	}
	if _, err := snap.WriteTo(cw, lock); err != nil {
		return "", err
	}
	if err := cw.seal(); err != nil {
		return "", err
	}
	// The digest section pairs the last processed zxid with the tree
	// digest at that zxid, both read after the walk under the lock, as
	// ZooKeeper writes lastProcessedZxidDigest.
	end()
	if o.Digest {
		e.Reset()
		if lastZxid > 0 {
			e.Long(lastZxid)
			e.Int(wire.DigestVersion)
			e.Long(digest)
		} else {
			// No txn yet: ZooKeeper writes an empty digest.
			e.Long(0)
			e.Int(wire.DigestVersion)
			e.Long(0)
		}
		if _, err := cw.Write(e.Bytes()); err != nil {
			return "", err
		}
		if err := cw.seal(); err != nil {
			return "", err
		}
	}
	if o.LastZxid {
		e.Reset()
		e.Long(lastZxid)
		if _, err := cw.Write(e.Bytes()); err != nil {
			return "", err
		}
		if err := cw.seal(); err != nil {
			return "", err
		}
	}
	if comp != nil {
		if err := comp.Close(); err != nil {
			return "", err
		}
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if !o.NoSync {
		if err := f.Sync(); err != nil {
			return "", err
		}
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		ok = true
		return "", err
	}
	ok = true
	if !o.NoSync {
		if err := syncDir(dir); err != nil {
			return path, err
		}
	}
	return path, nil
}
