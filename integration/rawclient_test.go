package integration

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// rawConn is a minimal client over zkd's own codec, for tests that need
// exact bytes.
type rawConn struct {
	t   testing.TB
	c   net.Conn
	xid int32
	ID  int64
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c}
}

// connect performs the handshake for a new session.
func (r *rawConn) connect(timeout int32) *jute.ConnectResponse {
	r.t.Helper()
	r.send(&jute.ConnectRequest{TimeOut: timeout, Passwd: make([]byte, 16)})
	var resp jute.ConnectResponse
	b := r.readFrame()
	if err := jute.Unmarshal(b, &resp); err != nil {
		r.t.Fatalf("ConnectResponse: %v", err)
	}
	r.ID = resp.SessionID
	return &resp
}

func (r *rawConn) send(rec jute.Record) {
	r.t.Helper()
	r.sendBytes(jute.Marshal(rec))
}

func (r *rawConn) sendBytes(payload []byte) {
	r.t.Helper()
	buf := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	buf = append(buf, payload...)
	_ = r.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := r.c.Write(buf); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// request sends RequestHeader + rec and returns the reply header and body,
// skipping notifications.
func (r *rawConn) request(op wire.OpCode, rec jute.Record) (jute.ReplyHeader, []byte) {
	r.t.Helper()
	r.xid++
	var e jute.Encoder
	h := jute.RequestHeader{Xid: r.xid, Type: int32(op)}
	h.Encode(&e)
	if rec != nil {
		rec.Encode(&e)
	}
	r.sendBytes(e.Bytes())
	for {
		b := r.readFrame()
		var rh jute.ReplyHeader
		d := jute.NewDecoder(b)
		rh.Decode(d)
		if rh.Xid == wire.XidNotification {
			continue
		}
		return rh, d.Rest()
	}
}

// appendRequest appends one framed request (length, RequestHeader, rec)
// to e, for requests sent back to back without waiting.
func appendRequest(e *jute.Encoder, xid int32, op wire.OpCode, rec jute.Record) {
	start := e.Len()
	e.Int(0)
	h := jute.RequestHeader{Xid: xid, Type: int32(op)}
	h.Encode(e)
	rec.Encode(e)
	e.PutInt(start, int32(e.Len()-start-4))
}

// replyOK reads the next frame, which must be xid's reply without an
// error, and returns a decoder at its body.
func (r *rawConn) replyOK(xid int32) *jute.Decoder {
	r.t.Helper()
	var h jute.ReplyHeader
	d := jute.NewDecoder(r.readFrame())
	h.Decode(d)
	if h.Xid != xid || h.Err != 0 {
		r.t.Fatalf("reply %+v, want xid %d", h, xid)
	}
	return d
}

func (r *rawConn) readFrame() []byte {
	r.t.Helper()
	b, err := r.tryReadFrame(3 * time.Second)
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return b
}

func (r *rawConn) tryReadFrame(d time.Duration) ([]byte, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(d))
	var l [4]byte
	if _, err := io.ReadFull(r.c, l[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n > 1<<24 {
		return nil, fmt.Errorf("frame too large: %d", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r.c, b)
	return b, err
}

// closed reports whether the server closed the connection within d.
func (r *rawConn) closed(d time.Duration) bool {
	_ = r.c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := r.c.Read(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return false
			}
			return true
		}
	}
}
