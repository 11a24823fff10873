package jute

import (
	"errors"
	"fmt"
	"hash"
	"io"
)

// Stream decodes records from an io.Reader by running the ordinary
// Decoder over a read-ahead window: a unit that runs past the window is
// retried after the window grows, so every Record decoder works on
// streams unchanged.
type Stream struct {
	r     io.Reader
	buf   []byte
	start int // first unconsumed byte
	end   int // end of valid bytes
	eof   bool
	d     Decoder // reused by every Decode
	// Max bounds the size of one unit; a unit claiming more is corrupt.
	Max int
	// Hash, when set, sees every consumed byte (for file checksums).
	Hash hash.Hash
	// Consumed counts the bytes decoded so far.
	Consumed int64
}

// NewStream returns a Stream over r refusing units larger than max bytes.
func NewStream(r io.Reader, max int) *Stream {
	return &Stream{r: r, buf: make([]byte, 64<<10), Max: max}
}

// ErrUnitTooLarge reports a unit over Stream.Max.
var ErrUnitTooLarge = errors.New("jute: record larger than the allowed maximum")

// Decode runs f over the unconsumed input. If f runs out of bytes the
// window is refilled and f runs again from the same place, so f must not
// have side effects it cannot repeat, and must not keep d. A unit larger
// than Max is ErrUnitTooLarge, whether or not it fits in the window. At
// the end of the input a short unit is io.ErrUnexpectedEOF, and no input
// at all is io.EOF.
func (s *Stream) Decode(f func(d *Decoder)) error {
	d := &s.d
	for {
		d.Reset(s.buf[s.start:s.end])
		f(d)
		if d.err == nil {
			if d.off > s.Max {
				return s.tooLarge()
			}
			s.consume(d.off)
			return nil
		}
		if d.err != ErrShort {
			return d.err
		}
		// Short with Max bytes at hand: the unit is longer than Max.
		if s.end-s.start >= s.Max {
			return s.tooLarge()
		}
		if s.eof {
			if s.start == s.end {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		if err := s.fill(); err != nil {
			return err
		}
	}
}

func (s *Stream) tooLarge() error { return fmt.Errorf("%w (%d bytes)", ErrUnitTooLarge, s.Max) }

func (s *Stream) consume(n int) {
	if s.Hash != nil {
		s.Hash.Write(s.buf[s.start : s.start+n])
	}
	s.start += n
	s.Consumed += int64(n)
}

// fill reads more input, growing the window when it is already full.
func (s *Stream) fill() error {
	if s.start > 0 {
		copy(s.buf, s.buf[s.start:s.end])
		s.end -= s.start
		s.start = 0
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= s.Max {
			return s.tooLarge()
		}
		n := min(2*len(s.buf), s.Max)
		nb := make([]byte, n)
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	if err == io.EOF {
		s.eof = true
		return nil
	}
	if err != nil {
		return err
	}
	return nil
}

// Buffered returns the bytes read ahead but not yet consumed.
func (s *Stream) Buffered() []byte { return s.buf[s.start:s.end] }
