package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"zkd/wire"
)

func frameBytes(length uint32, payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, length), payload...)
}

func TestNextFrame(t *testing.T) {
	const max = 16
	full := bytes.Repeat([]byte{7}, max)
	tests := []struct {
		name    string
		in      []byte
		payload []byte
		n       int
		errLen  int64 // FrameError.Len when an error is expected
		wantErr bool
	}{
		{name: "empty", in: nil},
		{name: "1 byte", in: []byte{0}},
		{name: "3 bytes", in: []byte{0, 0, 0}},
		{name: "zero length", in: frameBytes(0, nil), payload: []byte{}, n: 4},
		{name: "header only", in: frameBytes(5, nil)},
		{name: "partial payload", in: frameBytes(5, []byte{1, 2, 3, 4})},
		{name: "whole", in: frameBytes(5, []byte{1, 2, 3, 4, 5}), payload: []byte{1, 2, 3, 4, 5}, n: 9},
		{name: "whole plus next", in: frameBytes(2, []byte{1, 2, 0, 0}), payload: []byte{1, 2}, n: 6},
		{name: "exactly max", in: frameBytes(max, full), payload: full, n: 4 + max},
		{name: "exactly max, partial", in: frameBytes(max, full[:3])},
		{name: "max+1", in: frameBytes(max+1, nil), wantErr: true, errLen: max + 1},
		{name: "max+1 with payload", in: frameBytes(max+1, append(full, 1)), wantErr: true, errLen: max + 1},
		{name: "-1", in: frameBytes(0xffffffff, nil), wantErr: true, errLen: -1},
		{name: "min int", in: frameBytes(0x80000000, nil), wantErr: true, errLen: math.MinInt32},
		{name: "2^31-1", in: frameBytes(math.MaxInt32, nil), wantErr: true, errLen: math.MaxInt32},
		{name: "telnet close", in: frameBytes(0xfff4fffd, nil), wantErr: true, errLen: int64(wire.TelnetClose)},
		{name: "ruok", in: []byte("ruok"), wantErr: true, errLen: 0x72756f6b},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload, n, err := wire.NextFrame(tc.in, max)
			if tc.wantErr {
				var fe *wire.FrameError
				if !errors.As(err, &fe) {
					t.Fatalf("got %v, want a FrameError", err)
				}
				if fe.Len != tc.errLen || fe.Max != max {
					t.Fatalf("FrameError %+v", fe)
				}
				if n != 0 || payload != nil {
					t.Fatal("an error must not consume")
				}
				if !strings.Contains(fe.Error(), "jute.maxbuffer") {
					t.Fatalf("message %q", fe.Error())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.n || !bytes.Equal(payload, tc.payload) || (tc.payload != nil) != (payload != nil) {
				t.Fatalf("got (%x, %d), want (%x, %d)", payload, n, tc.payload, tc.n)
			}
		})
	}
}

func TestNextFrameLargeMax(t *testing.T) {
	// 2^31-1 is a legal length when max allows it: the frame is just not
	// complete yet, and the arithmetic must not overflow.
	payload, n, err := wire.NextFrame(frameBytes(math.MaxInt32, []byte{1}), math.MaxInt32)
	if err != nil || n != 0 || payload != nil {
		t.Fatalf("(%x, %d, %v)", payload, n, err)
	}
	payload, n, err = wire.NextFrame(frameBytes(wire.DefaultMaxBuffer, nil), wire.DefaultMaxBuffer)
	if err != nil || n != 0 || payload != nil {
		t.Fatalf("default max: (%x, %d, %v)", payload, n, err)
	}
	if _, _, err = wire.NextFrame(frameBytes(wire.DefaultMaxBuffer+1, nil), wire.DefaultMaxBuffer); err == nil {
		t.Fatal("jute.maxbuffer+1 accepted")
	}
	if wire.DefaultMaxBuffer != 1048575 {
		t.Fatalf("DefaultMaxBuffer %d", wire.DefaultMaxBuffer)
	}
}

// TestNextFrameSplitsAStream feeds a byte stream of several frames in
// every possible split and checks the frames come out whole and in order.
func TestNextFrameSplitsAStream(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i := range 5 {
		p := bytes.Repeat([]byte{byte(i)}, i*3)
		want = append(want, p)
		stream = append(stream, frameBytes(uint32(len(p)), p)...)
	}
	for cut := 0; cut <= len(stream); cut++ {
		var got [][]byte
		var buf []byte
		for _, part := range [][]byte{stream[:cut], stream[cut:]} {
			buf = append(buf, part...)
			for {
				p, n, err := wire.NextFrame(buf, 100)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				got = append(got, slices.Clone(p))
				buf = buf[n:]
			}
		}
		if len(buf) != 0 || len(got) != len(want) {
			t.Fatalf("cut %d: %d frames, %d bytes left", cut, len(got), len(buf))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("cut %d frame %d: %x", cut, i, got[i])
			}
		}
	}
}

func TestAppendFrame(t *testing.T) {
	buf := []byte{0xaa}
	buf, off := wire.AppendFrameStart(buf)
	if off != 1 || len(buf) != 5 {
		t.Fatalf("off %d len %d", off, len(buf))
	}
	buf = append(buf, "hello"...)
	wire.FinishFrame(buf, off)
	p, n, err := wire.NextFrame(buf[1:], 100)
	if err != nil || n != 9 || string(p) != "hello" {
		t.Fatalf("(%q, %d, %v)", p, n, err)
	}
	// An empty frame.
	buf, off = wire.AppendFrameStart(nil)
	wire.FinishFrame(buf, off)
	if !bytes.Equal(buf, []byte{0, 0, 0, 0}) {
		t.Fatalf("%x", buf)
	}
}

// fourLetterWords is the spec table (§3.13).
var fourLetterWords = map[string]uint32{
	"conf": 0x636f6e66, "cons": 0x636f6e73, "crst": 0x63727374,
	"dirs": 0x64697273, "dump": 0x64756d70, "envi": 0x656e7669,
	"gtmk": 0x67746d6b, "ruok": 0x72756f6b, "stmk": 0x73746d6b,
	"srvr": 0x73727672, "srst": 0x73727374, "stat": 0x73746174,
	"wchc": 0x77636863, "wchp": 0x77636870, "wchs": 0x77636873,
	"mntr": 0x6d6e7472, "isro": 0x6973726f, "hash": 0x68617368,
}

func TestFourLetterWord(t *testing.T) {
	for word, code := range fourLetterWords {
		t.Run(word, func(t *testing.T) {
			if binary.BigEndian.Uint32([]byte(word)) != code {
				t.Fatalf("spec code %x does not spell %q", code, word)
			}
			got, ok := wire.FourLetterWord([]byte(word))
			if !ok || got != word {
				t.Fatalf("FourLetterWord(%q) = %q, %v", word, got, ok)
			}
			// Only the first 4 bytes count; stmk carries an 8-byte mask.
			got, ok = wire.FourLetterWord(append([]byte(word), 0, 0, 0, 0, 0, 0, 0, 1))
			if !ok || got != word {
				t.Fatalf("with trailing bytes: %q, %v", got, ok)
			}
			if _, ok := wire.FourLetterWord([]byte(word)[:3]); ok {
				t.Fatal("3 bytes matched")
			}
		})
	}
	for _, not := range []string{"RUOK", "kill", "\x00\x00\x00\x2c", "ruo"} {
		if w, ok := wire.FourLetterWord([]byte(not)); ok {
			t.Errorf("%q matched %q", not, w)
		}
	}
	words := wire.FourLetterWords()
	slices.Sort(words)
	var want []string
	for w := range fourLetterWords {
		want = append(want, w)
	}
	slices.Sort(want)
	if !slices.Equal(words, want) {
		t.Fatalf("FourLetterWords() = %v, want %v", words, want)
	}
}

// TestTelnetClose: 0xfff4fffd is what telnet sends on close. ZooKeeper
// knows it as a command that just closes the connection; as a frame
// length it is negative, so NextFrame refuses it either way.
func TestTelnetClose(t *testing.T) {
	tc := wire.TelnetClose
	if uint32(tc) != 0xfff4fffd {
		t.Fatalf("TelnetClose = %x", uint32(tc))
	}
	in := []byte{0xff, 0xf4, 0xff, 0xfd}
	if w, ok := wire.FourLetterWord(in); ok {
		t.Fatalf("telnet close is not a command that answers: %q", w)
	}
	if int32(binary.BigEndian.Uint32(in)) != wire.TelnetClose {
		t.Fatal("byte order")
	}
	if _, _, err := wire.NextFrame(in, wire.DefaultMaxBuffer); err == nil {
		t.Fatal("telnet close must not read as a frame")
	}
}
