package load

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FsyncFloor writes 100 bytes and fdatasyncs them, n times, in a file in
// dir: the cost of one durable txn-log append on that disk, which bounds
// the latency of any write a server acknowledges only once it is on disk.
// The file is preallocated first, as ZooKeeper's txn log is, so each
// fdatasync flushes data and no metadata.
func FsyncFloor(dir string, n int) (*Histogram, error) {
	f, remove, err := floorFile(dir, n)
	if err != nil {
		return nil, err
	}
	defer remove()
	return timeRounds(n, func(i int) error { return floorAppend(f, i) })
}

// SequenceFloor times n rounds of one loopback round trip followed by one
// fdatasync, as a depth-1 writer meets them: a disk that is slower to
// sync after even a short idle spell (some virtual machines' are) shows
// here what FsyncFloor's back-to-back syncs hide.
func SequenceFloor(dir string, n int) (*Histogram, error) {
	f, remove, err := floorFile(dir, n)
	if err != nil {
		return nil, err
	}
	defer remove()
	c, stop, err := echo()
	if err != nil {
		return nil, err
	}
	defer stop()
	buf := make([]byte, 16)
	return timeRounds(n, func(i int) error {
		if err := roundTrip(c, buf); err != nil {
			return err
		}
		return floorAppend(f, i)
	})
}

// timeRounds records how long each of n calls of round takes.
func timeRounds(n int, round func(i int) error) (*Histogram, error) {
	h := &Histogram{}
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err := round(i); err != nil {
			return nil, err
		}
		h.Record(time.Since(t0))
	}
	return h, nil
}

const floorRecord = 100

// floorFile makes a file in dir for n floor records, written with zeros
// and synced; remove closes and removes it.
func floorFile(dir string, n int) (f *os.File, remove func(), err error) {
	f, err = os.CreateTemp(dir, "fsync-floor-*")
	if err != nil {
		return nil, nil, err
	}
	remove = func() { f.Close(); os.Remove(f.Name()) }
	zero := make([]byte, (n+1)*floorRecord)
	if _, err = f.WriteAt(zero, 0); err == nil {
		err = f.Sync()
	}
	if err != nil {
		remove()
		return nil, nil, err
	}
	return f, remove, nil
}

// floorAppend writes record i and fdatasyncs it.
func floorAppend(f *os.File, i int) error {
	var buf [floorRecord]byte
	for j := range buf {
		buf[j] = byte(i + j)
	}
	if _, err := f.WriteAt(buf[:], int64(i)*floorRecord); err != nil {
		return err
	}
	return fdatasync(f)
}

// LoopbackFloor measures n round trips of a 16-byte message over a TCP
// loopback connection to an echo server in this process: what any request
// costs before a server does anything with it.
func LoopbackFloor(n int) (*Histogram, error) {
	c, stop, err := echo()
	if err != nil {
		return nil, err
	}
	defer stop()
	buf := make([]byte, 16)
	return timeRounds(n, func(int) error { return roundTrip(c, buf) })
}

// roundTrip sends buf to the echo server and reads it back.
func roundTrip(c net.Conn, buf []byte) error {
	if _, err := c.Write(buf); err != nil {
		return err
	}
	_, err := io.ReadFull(c, buf)
	return err
}

// echo connects to an echo server on loopback in this process; stop
// closes both ends.
func echo() (net.Conn, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	return c, func() { c.Close(); l.Close() }, nil
}

// NewestFile finds the newest file in dir named prefix followed by a hex
// zxid (snapshot.<zxid>, log.<zxid>): the one with the highest zxid. ok is
// false when there is none (yet: a server without persistence writes none).
func NewestFile(dir, prefix string) (name string, size int64, ok bool, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return "", 0, false, nil
		}
		return "", 0, false, err
	}
	var best uint64
	for _, e := range ents {
		if e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		// A compressed snapshot carries a suffix: snapshot.<zxid>.snappy.
		hex, _, _ := strings.Cut(strings.TrimPrefix(e.Name(), prefix), ".")
		zxid, perr := strconv.ParseUint(hex, 16, 64)
		if perr != nil {
			continue
		}
		info, ierr := e.Info()
		if ierr != nil {
			continue
		}
		if !ok || zxid > best {
			name, size, best, ok = filepath.Join(dir, e.Name()), info.Size(), zxid, true
		}
	}
	return name, size, ok, nil
}
