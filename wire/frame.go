package wire

import (
	"encoding/binary"
	"fmt"
)

// DefaultMaxBuffer is jute.maxbuffer's default: the largest frame a server
// accepts from a client.
const DefaultMaxBuffer = 0xfffff

// FrameError is a frame length the server refuses.
type FrameError struct {
	Len int64
	Max int
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("frame length %d outside [0, %d] (jute.maxbuffer)", e.Len, e.Max)
}

// NextFrame splits one length-prefixed frame off the front of b. It returns
// the payload and the total bytes the frame occupies, or n == 0 when b does
// not yet hold a whole frame. A length beyond max is an error: the caller
// closes the connection.
func NextFrame(b []byte, max int) (payload []byte, n int, err error) {
	if len(b) < 4 {
		return nil, 0, nil
	}
	l := int32(binary.BigEndian.Uint32(b))
	if l < 0 || int(l) > max {
		return nil, 0, &FrameError{Len: int64(l), Max: max}
	}
	if len(b) < 4+int(l) {
		return nil, 0, nil
	}
	return b[4 : 4+int(l)], 4 + int(l), nil
}

// AppendFrameStart reserves a 4-byte length at the end of buf and returns
// the extended slice and the offset of the reserved bytes; FinishFrame
// fills the length in once the payload is appended.
func AppendFrameStart(buf []byte) ([]byte, int) {
	return append(buf, 0, 0, 0, 0), len(buf)
}

// FinishFrame writes the length of the frame begun at off.
func FinishFrame(buf []byte, off int) {
	binary.BigEndian.PutUint32(buf[off:], uint32(len(buf)-off-4))
}

// Four-letter words, as the int a client's first 4 bytes spell.
var fourLetterWords = map[int32]string{
	0x636f6e66: "conf", 0x636f6e73: "cons", 0x63727374: "crst",
	0x64697273: "dirs", 0x64756d70: "dump", 0x656e7669: "envi",
	0x67746d6b: "gtmk", 0x72756f6b: "ruok", 0x73746d6b: "stmk",
	0x73727672: "srvr", 0x73727374: "srst", 0x73746174: "stat",
	0x77636863: "wchc", 0x77636870: "wchp", 0x77636873: "wchs",
	0x6d6e7472: "mntr", 0x6973726f: "isro", 0x68617368: "hash",
}

// TelnetClose is the telnet interrupt sequence ZooKeeper recognises in the
// place of a four-letter word.
const TelnetClose int32 = -0x000b0003 // 0xfff4fffd

// FourLetterWord reports whether the first 4 bytes of a connection, read
// as a frame length, spell a four-letter word.
func FourLetterWord(b []byte) (string, bool) {
	if len(b) < 4 {
		return "", false
	}
	w, ok := fourLetterWords[int32(binary.BigEndian.Uint32(b))]
	return w, ok
}

// FourLetterWords lists every known command.
func FourLetterWords() []string {
	out := make([]string, 0, len(fourLetterWords))
	for _, w := range fourLetterWords {
		out = append(out, w)
	}
	return out
}
