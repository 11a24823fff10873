package jute_test

import (
	"bytes"
	"errors"
	"hash/adler32"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"zkd/jute"
)

// chunkReader returns at most a few random bytes per Read.
type chunkReader struct {
	b   []byte
	rng *rand.Rand
	max int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := 1 + r.rng.IntN(r.max)
	n = min(n, len(p), len(r.b))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

// streamInput is a sequence of records of varied sizes, some larger than
// the stream's initial 64 KiB window.
func streamInput() ([]jute.Record, []byte) {
	recs := []jute.Record{
		&jute.FileHeader{Magic: 0x5A4B534E, Version: 2, DBID: -1},
		&jute.CreateTxn{Path: "/a", Data: bytes.Repeat([]byte{1}, 100), ACL: []jute.ACL{worldAll}, ParentCVersion: 1},
		&jute.SetDataTxn{Path: "/big", Data: bytes.Repeat([]byte{2}, 200<<10), Version: 1},
		&jute.ReplyHeader{Xid: 1, Zxid: 2, Err: 3},
		&jute.GetChildrenResponse{Children: []string{"x", "y", "z"}},
		&jute.SetDataTxn{Path: "/big2", Data: bytes.Repeat([]byte{3}, 70<<10), Version: 2},
		&jute.TxnDigest{Version: 2, TreeDigest: 1},
	}
	var e jute.Encoder
	for _, r := range recs {
		r.Encode(&e)
	}
	return recs, e.Bytes()
}

func TestStreamDecodesAcrossRefills(t *testing.T) {
	recs, in := streamInput()
	readers := map[string]func() io.Reader{
		"whole":      func() io.Reader { return bytes.NewReader(in) },
		"one byte":   func() io.Reader { return iotest.OneByteReader(bytes.NewReader(in)) },
		"half":       func() io.Reader { return iotest.HalfReader(bytes.NewReader(in)) },
		"data + EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(in)) },
		"chunks":     func() io.Reader { return &chunkReader{b: in, rng: rand.New(rand.NewPCG(1, 2)), max: 5000} },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			s := jute.NewStream(mk(), 1<<20)
			s.Hash = adler32.New()
			for i, want := range recs {
				got := freshLike(want)
				if err := s.Decode(got.Decode); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if !equalRecords(got, want) {
					t.Fatalf("record %d differs", i)
				}
			}
			if err := s.Decode(func(d *jute.Decoder) { d.Int() }); err != io.EOF {
				t.Fatalf("after the last record: %v, want io.EOF", err)
			}
			if s.Consumed != int64(len(in)) {
				t.Fatalf("Consumed %d, want %d", s.Consumed, len(in))
			}
			if got, want := s.Hash.(interface{ Sum32() uint32 }).Sum32(), adler32.Checksum(in); got != want {
				t.Fatalf("hash %x, want %x", got, want)
			}
		})
	}
}

func equalRecords(a, b jute.Record) bool {
	return bytes.Equal(jute.Marshal(a), jute.Marshal(b))
}

// TestStreamRetriesFromTheSamePlace checks the contract Decode documents:
// a unit cut by the window end is decoded again from its start.
func TestStreamRetriesFromTheSamePlace(t *testing.T) {
	in := ref("/path", int32(7), "/second", int32(8))
	s := jute.NewStream(iotest.OneByteReader(bytes.NewReader(in)), 1024)
	calls := 0
	var path string
	var v int32
	err := s.Decode(func(d *jute.Decoder) {
		calls++
		path = d.String()
		v = d.Int()
	})
	if err != nil || path != "/path" || v != 7 {
		t.Fatalf("%v %q %d", err, path, v)
	}
	if calls < 2 {
		t.Fatalf("one-byte reads must force retries, f ran %d times", calls)
	}
	if s.Consumed != 13 {
		t.Fatalf("Consumed %d", s.Consumed)
	}
	if err := s.Decode(func(d *jute.Decoder) { path = d.String(); v = d.Int() }); err != nil || path != "/second" || v != 8 {
		t.Fatalf("%v %q %d", err, path, v)
	}
}

func TestStreamMaxBound(t *testing.T) {
	const max = 100_000
	unit := func(n int) []byte { return ref(make([]byte, n-4)) } // buffer of n bytes in all
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"well below", 1000, false},
		{"past the first window", 70_000, false},
		{"exactly max", max, false},
		{"max+1", max + 1, true},
		{"far over", 3 * max, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append(unit(tc.size), 0, 0, 0, 9)
			s := jute.NewStream(iotest.HalfReader(bytes.NewReader(in)), max)
			var b []byte
			err := s.Decode(func(d *jute.Decoder) { b = d.BufferAlias() })
			if tc.wantErr {
				if !errors.Is(err, jute.ErrUnitTooLarge) {
					t.Fatalf("got %v, want ErrUnitTooLarge", err)
				}
				return
			}
			if err != nil || len(b) != tc.size-4 {
				t.Fatalf("%v, %d bytes", err, len(b))
			}
			var v int32
			if err := s.Decode(func(d *jute.Decoder) { v = d.Int() }); err != nil || v != 9 {
				t.Fatalf("next unit: %v %d", err, v)
			}
		})
	}
}

// TestStreamMaxBelowWindow: Max bounds every unit, also one that fits in
// the first 64 KiB window, however the reader splits the input.
func TestStreamMaxBelowWindow(t *testing.T) {
	const max = 1000
	readers := map[string]func([]byte) io.Reader{
		"whole":    func(b []byte) io.Reader { return bytes.NewReader(b) },
		"half":     func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"one byte": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			// Exactly max is fine, and the next unit still reads.
			s := jute.NewStream(mk(ref(make([]byte, max-4), int32(9))), max)
			var v int32
			if err := s.Decode(func(d *jute.Decoder) { d.BufferAlias() }); err != nil {
				t.Fatalf("a %d-byte unit with Max %d: %v", max, max, err)
			}
			if err := s.Decode(func(d *jute.Decoder) { v = d.Int() }); err != nil || v != 9 {
				t.Fatalf("next unit: %v %d", err, v)
			}
			// One byte more is refused, and nothing is consumed.
			s = jute.NewStream(mk(ref(make([]byte, max-3))), max)
			err := s.Decode(func(d *jute.Decoder) { d.BufferAlias() })
			if !errors.Is(err, jute.ErrUnitTooLarge) {
				t.Fatalf("a %d-byte unit with Max %d: %v", max+1, max, err)
			}
			if s.Consumed != 0 {
				t.Fatalf("a refused unit consumed %d bytes", s.Consumed)
			}
			s = jute.NewStream(mk(ref(make([]byte, 2000))), max)
			if err := s.Decode(func(d *jute.Decoder) { d.BufferAlias() }); !errors.Is(err, jute.ErrUnitTooLarge) {
				t.Fatalf("a 2004-byte unit with Max %d: %v", max, err)
			}
		})
	}
}

func TestStreamEOF(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"partial int", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"partial string", ref("abcdef")[:6], io.ErrUnexpectedEOF},
		{"partial big buffer", ref(make([]byte, 150<<10))[:100<<10], io.ErrUnexpectedEOF},
		{"claim beyond input", ref(int32(0x7ffffff0), []byte{1, 2, 3}), io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := jute.NewStream(iotest.HalfReader(bytes.NewReader(tc.in)), 1<<30)
			err := s.Decode(func(d *jute.Decoder) { d.Buffer() })
			if err != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if s.Consumed != 0 {
				t.Fatalf("a failed unit consumed %d bytes", s.Consumed)
			}
		})
	}
}

func TestStreamPropagatesErrors(t *testing.T) {
	boom := errors.New("boom")
	s := jute.NewStream(iotest.ErrReader(boom), 1024)
	if err := s.Decode(func(d *jute.Decoder) { d.Int() }); err != boom {
		t.Fatalf("reader error: %v", err)
	}
	s = jute.NewStream(bytes.NewReader(ref(int32(-5), "x")), 1024)
	if err := s.Decode(func(d *jute.Decoder) { _ = d.String() }); err == nil || errors.Is(err, jute.ErrShort) {
		t.Fatalf("negative length: %v", err)
	}
	if s.Consumed != 0 || len(s.Buffered()) != 9 {
		t.Fatalf("failed unit consumed %d, buffered %d", s.Consumed, len(s.Buffered()))
	}
	mine := errors.New("mine")
	s = jute.NewStream(bytes.NewReader(ref(int32(1))), 1024)
	if err := s.Decode(func(d *jute.Decoder) { d.Int(); d.Fail(mine) }); err != mine {
		t.Fatalf("decoder failure: %v", err)
	}
}

// TestStreamHashSeesConsumedBytesOnly interleaves failing and succeeding
// decodes and checks the hash covers exactly what was consumed.
func TestStreamHashSeesConsumedBytesOnly(t *testing.T) {
	in := ref("one", int32(-3), "two", "three")
	s := jute.NewStream(iotest.OneByteReader(bytes.NewReader(in)), 1024)
	h := adler32.New()
	s.Hash = h
	if err := s.Decode(func(d *jute.Decoder) { _ = d.String() }); err != nil {
		t.Fatal(err)
	}
	if err := s.Decode(func(d *jute.Decoder) { _ = d.String() }); err == nil {
		t.Fatal("negative length accepted")
	}
	if h.Sum32() != adler32.Checksum(in[:7]) {
		t.Fatal("hash must cover only the first unit")
	}
	if err := s.Decode(func(d *jute.Decoder) { d.Int() }); err != nil {
		t.Fatal(err)
	}
	if err := s.Decode(func(d *jute.Decoder) { _, _ = d.String(), d.String() }); err != nil {
		t.Fatal(err)
	}
	if h.Sum32() != adler32.Checksum(in) || s.Consumed != int64(len(in)) {
		t.Fatalf("hash/consumed after all units: %d", s.Consumed)
	}
	if len(s.Buffered()) != 0 {
		t.Fatal("nothing may remain buffered")
	}
}

func TestStreamBuffered(t *testing.T) {
	in := ref(int32(1), int32(2), int32(3))
	s := jute.NewStream(bytes.NewReader(in), 1024)
	if err := s.Decode(func(d *jute.Decoder) { d.Int() }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Buffered(), in[4:]) {
		t.Fatalf("Buffered %x", s.Buffered())
	}
}

// TestStreamAllocationBoundedByInput: a tiny input claiming a huge unit
// must not make the stream allocate what it claims.
func TestStreamAllocationBoundedByInput(t *testing.T) {
	in := ref(int32(0x7ffffff0), []byte("abc"))
	allocated := bytesAllocated(func() {
		for range 10 {
			s := jute.NewStream(bytes.NewReader(in), 1<<31-1)
			if err := s.Decode(func(d *jute.Decoder) { d.Buffer() }); err != io.ErrUnexpectedEOF {
				t.Fatal(err)
			}
		}
	})
	if allocated > 10*(128<<10) {
		t.Fatalf("allocated %d bytes for 10 streams of %d bytes", allocated, len(in))
	}
}

// TestStreamDecodeAllocs: decoding from the window allocates nothing of
// its own, so a snapshot of a million nodes costs no per-unit garbage.
func TestStreamDecodeAllocs(t *testing.T) {
	var e jute.Encoder
	for i := range 1000 {
		e.Int(int32(i))
	}
	s := jute.NewStream(bytes.NewReader(e.Bytes()), 1<<20)
	var v int32
	f := func(d *jute.Decoder) { v = d.Int() }
	if n := testing.AllocsPerRun(500, func() {
		if err := s.Decode(f); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per Decode", n)
	}
	_ = v
}
