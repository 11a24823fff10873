package persistence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/golang/snappy"
)

// snappy-java's SnappyOutputStream layout, which ZooKeeper uses for
// .snappy snapshots (not the standard snappy framing format): a 16-byte
// header (magic, int version 1, int min compatible version 1), then
// blocks of int compressed length + raw snappy block, each holding at most
// 32 KiB of input.
var snappyMagic = [8]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	snappyHeaderLen = 16
	snappyBlockSize = 32 << 10
	// snappyMaxBlock bounds one block read, so a corrupt length cannot
	// make the reader allocate without limit.
	snappyMaxBlock = 64 << 20
)

// snappyMagicHead is the magic's first 4 bytes read as a block length: a
// concatenated stream starts again there.
var snappyMagicHead = binary.BigEndian.Uint32(snappyMagic[:4])

type snappyWriter struct {
	w      io.Writer
	in     []byte
	out    []byte
	header bool
}

func newSnappyWriter(w io.Writer) *snappyWriter {
	return &snappyWriter{w: w, in: make([]byte, 0, snappyBlockSize)}
}

func (s *snappyWriter) writeHeader() error {
	if s.header {
		return nil
	}
	s.header = true
	var h [snappyHeaderLen]byte
	copy(h[:], snappyMagic[:])
	binary.BigEndian.PutUint32(h[8:], 1)
	binary.BigEndian.PutUint32(h[12:], 1)
	_, err := s.w.Write(h[:])
	return err
}

func (s *snappyWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), snappyBlockSize-len(s.in))
		s.in = append(s.in, p[:k]...)
		p = p[k:]
		n += k
		if len(s.in) == snappyBlockSize {
			if err := s.flushBlock(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (s *snappyWriter) flushBlock() error {
	if err := s.writeHeader(); err != nil {
		return err
	}
	if len(s.in) == 0 {
		return nil
	}
	need := 4 + snappy.MaxEncodedLen(len(s.in))
	if cap(s.out) < need {
		s.out = make([]byte, need)
	}
	enc := snappy.Encode(s.out[4:cap(s.out)], s.in)
	binary.BigEndian.PutUint32(s.out[0:], uint32(len(enc)))
	s.in = s.in[:0]
	_, err := s.w.Write(s.out[:4+len(enc)])
	return err
}

// Close writes the last block (and the header of an empty stream).
func (s *snappyWriter) Close() error { return s.flushBlock() }

type snappyReader struct {
	r    io.Reader
	comp bytes.Buffer
	out  []byte
	pos  int
	eof  bool
}

var errSnappyMagic = errors.New("not a snappy-java stream (bad magic)")

func newSnappyReader(r io.Reader) (*snappyReader, error) {
	var h [snappyHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("snappy header: %w", err)
	}
	if !bytes.Equal(h[:8], snappyMagic[:]) {
		return nil, errSnappyMagic
	}
	return &snappyReader{r: r}, nil
}

func (s *snappyReader) Read(p []byte) (int, error) {
	for s.pos == len(s.out) {
		if s.eof {
			return 0, io.EOF
		}
		if err := s.nextBlock(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.out[s.pos:])
	s.pos += n
	return n, nil
}

func (s *snappyReader) nextBlock() error {
	var lb [4]byte
	n, err := io.ReadFull(s.r, lb[:])
	if err == io.EOF || (err == io.ErrUnexpectedEOF && n < 4) {
		// snappy-java ends quietly on fewer than 4 bytes.
		s.eof = true
		return nil
	}
	if err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(lb[:])
	if size == snappyMagicHead {
		var rest [snappyHeaderLen - 4]byte
		if _, err := io.ReadFull(s.r, rest[:]); err != nil {
			return fmt.Errorf("snappy: short header of a concatenated stream: %w", err)
		}
		if !bytes.Equal(rest[:4], snappyMagic[4:]) {
			s.eof = true // not a header after all: snappy-java stops too
		}
		return nil
	}
	if int32(size) < 0 || size > snappyMaxBlock {
		return fmt.Errorf("snappy: invalid block length %d", int32(size))
	}
	s.comp.Reset()
	if m, err := io.CopyN(&s.comp, s.r, int64(size)); err != nil {
		return fmt.Errorf("snappy: block of %d bytes cut at %d: %w", size, m, io.ErrUnexpectedEOF)
	}
	dl, err := snappy.DecodedLen(s.comp.Bytes())
	if err != nil {
		return fmt.Errorf("snappy: %w", err)
	}
	// Snappy expands at most ~21x (a 3-byte copy of 64 bytes): refuse a
	// claim no block can make before allocating for it.
	if dl > snappyMaxBlock || dl > 22*s.comp.Len()+64 {
		return fmt.Errorf("snappy: block of %d bytes claims to decode to %d", s.comp.Len(), dl)
	}
	if cap(s.out) < dl {
		s.out = make([]byte, dl)
	}
	out, err := snappy.Decode(s.out[:cap(s.out)], s.comp.Bytes())
	if err != nil {
		return fmt.Errorf("snappy: %w", err)
	}
	s.out, s.pos = out, 0
	return nil
}
