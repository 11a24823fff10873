package server

import (
	"fmt"
	"testing"

	"github.com/rs/zerolog"

	"zkd/jute"
	"zkd/wire"
)

// benchConn is a server with a tree of n nodes and an established
// connection that is never attached to a socket: the read path runs
// decode → dispatch → encode into the connection's output buffer.
func benchConn(tb testing.TB, n int) (*Server, *Conn) {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = tb.TempDir()
	s, err := New(cfg, zerolog.Nop(), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	acl := []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	if _, err := s.tree.CreateNode("/bench", nil, acl, 0, 0, 1, 1); err != nil {
		tb.Fatal(err)
	}
	data := make([]byte, 100)
	for i := 0; i < n; i++ {
		if _, err := s.tree.CreateNode(fmt.Sprintf("/bench/k%d", i), data, acl, 0, int32(i), int64(i+2), 1); err != nil {
			tb.Fatal(err)
		}
	}
	c := &Conn{srv: s, state: stateEstablished, remote: "127.0.0.1:1"}
	sess := s.sessions.Create(30000)
	c.bindSession(sess)
	return s, c
}

// requestFrame is a request's payload (the frame without its length).
func requestFrame(xid int32, op wire.OpCode, rec jute.Record) []byte {
	var e jute.Encoder
	h := jute.RequestHeader{Xid: xid, Type: int32(op)}
	h.Encode(&e)
	rec.Encode(&e)
	return e.Bytes()
}

func TestReadPathReplies(t *testing.T) {
	_, c := benchConn(t, 10)
	c.handleRequest(requestFrame(7, wire.OpGetData, &jute.GetDataRequest{Path: "/bench/k3"}))
	c.handleRequest(requestFrame(8, wire.OpExists, &jute.ExistsRequest{Path: "/bench/missing"}))
	d := jute.NewDecoder(c.out)
	var rh jute.ReplyHeader
	d.Int() // frame length
	rh.Decode(d)
	var gd jute.GetDataResponse
	gd.Decode(d)
	if rh.Xid != 7 || rh.Err != 0 || len(gd.Data) != 100 || gd.Stat.Mzxid != 5 {
		t.Fatalf("getData reply %+v %+v", rh, gd.Stat)
	}
	d.Int()
	rh.Decode(d)
	if rh.Xid != 8 || wire.Error(rh.Err) != wire.ErrNoNode || d.Err() != nil {
		t.Fatalf("exists reply %+v %v", rh, d.Err())
	}
}

// BenchmarkReadPath measures a getData or exists request from its frame to
// its encoded reply; the steady state must not allocate.
func BenchmarkReadPath(b *testing.B) {
	for _, bc := range []struct {
		name string
		op   wire.OpCode
		rec  jute.Record
	}{
		{"getData", wire.OpGetData, &jute.GetDataRequest{Path: "/bench/k500"}},
		{"exists", wire.OpExists, &jute.ExistsRequest{Path: "/bench/k500"}},
		{"exists-missing", wire.OpExists, &jute.ExistsRequest{Path: "/bench/nope"}},
		{"getChildren", wire.OpGetChildren, &jute.GetChildrenRequest{Path: "/bench/k500"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			_, c := benchConn(b, 1000)
			frame := requestFrame(1, bc.op, bc.rec)
			b.ReportAllocs()
			for b.Loop() {
				c.handleRequest(frame)
				c.out = c.out[:0]
			}
		})
	}
}

// TestReadPathAllocs pins the zero-allocation read path: getData and
// exists replies are encoded straight into the connection's buffer.
func TestReadPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	_, c := benchConn(t, 100)
	for _, f := range [][]byte{
		requestFrame(1, wire.OpGetData, &jute.GetDataRequest{Path: "/bench/k50"}),
		requestFrame(2, wire.OpExists, &jute.ExistsRequest{Path: "/bench/k50"}),
		requestFrame(3, wire.OpExists, &jute.ExistsRequest{Path: "/bench/none"}),
	} {
		c.handleRequest(f) // grow the output buffer once
		c.out = c.out[:0]
		if n := testing.AllocsPerRun(200, func() {
			c.handleRequest(f)
			c.out = c.out[:0]
		}); n != 0 {
			t.Errorf("%d allocations per read request, want 0", int(n))
		}
	}
}
