package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkd/jute"
	"zkd/wire"
)

// This file captures the bytes a real client implementation sends:
// go-zookeeper/zk's encoder is unexported, so a fake server on loopback
// records every frame a zk.Conn writes. Our decoders must read the frames
// field by field and our encoders must reproduce them byte for byte.

// captured is one frame a client sent.
type captured struct {
	conn    int // connection number, from 1
	payload []byte
}

// fakeServer answers just enough of the protocol to keep a client going.
type fakeServer struct {
	t      *testing.T
	ln     net.Listener
	frames chan captured
	zxid   atomic.Int64
	passwd []byte

	mu   sync.Mutex
	cur  net.Conn
	wg   sync.WaitGroup
	done chan struct{}
}

const fakeSessionID = 0x0100003fd8750000

func newFakeServer(t *testing.T) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, frames: make(chan captured, 100), passwd: []byte("0123456789abcdef"),
		done: make(chan struct{})}
	s.zxid.Store(0x100000000)
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		close(s.done)
		ln.Close()
		s.dropConn()
		s.wg.Wait()
	})
	return s
}

func (s *fakeServer) accept() {
	defer s.wg.Done()
	for n := 1; ; n++ {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.cur = c
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c, n)
	}
}

// dropConn closes the current connection, as a server that went away.
func (s *fakeServer) dropConn() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.cur.Close()
	}
}

func readFrame(r io.Reader) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n > wire.DefaultMaxBuffer {
		return nil, errors.New("frame too large")
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeFrame(w io.Writer, recs ...jute.Record) error {
	buf, off := wire.AppendFrameStart(nil)
	e := jute.NewEncoder(buf)
	for _, r := range recs {
		r.Encode(e)
	}
	buf = e.Bytes()
	wire.FinishFrame(buf, off)
	_, err := w.Write(buf)
	return err
}

func (s *fakeServer) record(c captured) {
	select {
	case s.frames <- c:
	case <-s.done:
	}
}

func (s *fakeServer) serve(c net.Conn, n int) {
	defer s.wg.Done()
	defer c.Close()
	first, err := readFrame(c)
	if err != nil {
		return
	}
	s.record(captured{n, first})
	var creq jute.ConnectRequest
	if err := jute.Unmarshal(first, &creq); err != nil {
		s.t.Errorf("fake server: connect request: %v", err)
		return
	}
	resp := jute.ConnectResponse{TimeOut: creq.TimeOut, SessionID: fakeSessionID, Passwd: s.passwd, OmitReadOnly: creq.OmitReadOnly}
	if writeFrame(c, &resp) != nil {
		return
	}
	stat := jute.Stat{Czxid: 1, Mzxid: 2, Version: 1}
	for {
		p, err := readFrame(c)
		if err != nil {
			return
		}
		var h jute.RequestHeader
		d := jute.NewDecoder(p)
		h.Decode(d)
		if d.Err() != nil {
			s.t.Errorf("fake server: header: %v", d.Err())
			return
		}
		reply := jute.ReplyHeader{Xid: h.Xid, Zxid: s.zxid.Add(1)}
		if h.Type == int32(wire.OpAuth) {
			// ZooKeeper answers auth with zxid 0 (§3.4). It also keeps
			// go-zookeeper clear of its own data race on lastZxid
			// between recvLoop and sendSetWatches after a reconnect.
			reply.Zxid = 0
		}
		if h.Type == int32(wire.OpPing) {
			reply.Zxid = s.zxid.Load()
			if writeFrame(c, &reply) != nil {
				return
			}
			continue
		}
		s.record(captured{n, p})
		var body jute.Record
		req, _ := wire.RequestRecord(wire.OpCode(h.Type))
		if req != nil {
			req.Decode(d)
		}
		switch wire.OpCode(h.Type) {
		case wire.OpCreate:
			body = &jute.CreateResponse{Path: req.(*jute.CreateRequest).Path}
		case wire.OpCreateContainer:
			body = &jute.Create2Response{Path: req.(*jute.CreateRequest).Path, Stat: stat}
		case wire.OpCreateTTL:
			body = &jute.Create2Response{Path: req.(*jute.CreateTTLRequest).Path, Stat: stat}
		case wire.OpExists:
			// NONODE, so that go-zookeeper registers an exist watch.
			reply.Err = int32(wire.ErrNoNode)
		case wire.OpSetData, wire.OpSetACL:
			body = &jute.SetDataResponse{Stat: stat}
		case wire.OpGetData, wire.OpReconfig:
			body = &jute.GetDataResponse{Data: []byte("data"), Stat: stat}
		case wire.OpGetACL:
			body = &jute.GetACLResponse{ACL: openACL, Stat: stat}
		case wire.OpGetChildren2:
			body = &jute.GetChildren2Response{Children: []string{"a", "b"}, Stat: stat}
		case wire.OpSync:
			body = &jute.SyncResponse{Path: req.(*jute.SyncRequest).Path}
		case wire.OpMulti:
			var mr wire.MultiResponse
			for _, op := range req.(*wire.MultiRequest).Ops {
				res := wire.MultiResult{Type: op.Type}
				switch op.Type {
				case wire.OpCreate:
					res.Record = &jute.CreateResponse{Path: op.Record.(*jute.CreateRequest).Path}
				case wire.OpSetData:
					res.Record = &jute.SetDataResponse{Stat: stat}
				}
				mr.Results = append(mr.Results, res)
			}
			body = &mr
		}
		recs := []jute.Record{&reply}
		if body != nil {
			recs = append(recs, body)
		}
		if writeFrame(c, recs...) != nil {
			return
		}
		if h.Type == int32(wire.OpCloseSession) {
			return
		}
	}
}

// next returns the next captured frame, failing after a bounded wait.
func (s *fakeServer) next(t *testing.T) captured {
	t.Helper()
	select {
	case c := <-s.frames:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no frame from the client")
		return captured{}
	}
}

// oneHost is a HostProvider for a single server that never backs off.
type oneHost struct{ addr string }

func (h *oneHost) Init(servers []string) error { h.addr = servers[0]; return nil }
func (h *oneHost) Len() int                    { return 1 }
func (h *oneHost) Next() (string, bool)        { return h.addr, false }
func (h *oneHost) Connected()                  {}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

func waitSession(t *testing.T, events <-chan zk.Event) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return
			}
		case <-timeout:
			t.Fatal("no session")
		}
	}
}

// goldenRequest checks one captured request frame: header, then the body
// decoded field by field, then re-encoded byte for byte.
func goldenRequest(t *testing.T, name string, c captured, op wire.OpCode, want jute.Record) {
	t.Helper()
	d := jute.NewDecoder(c.payload)
	var h jute.RequestHeader
	h.Decode(d)
	if d.Err() != nil || wire.OpCode(h.Type) != op {
		t.Fatalf("%s: header %+v (%v), want op %v", name, h, d.Err(), op)
	}
	if h.Xid <= 0 {
		t.Errorf("%s: go-zookeeper uses ordinary xids for every request, got %d", name, h.Xid)
	}
	got, ok := wire.RequestRecord(op)
	if !ok {
		t.Fatalf("%s: no request record for %v", name, op)
	}
	if want == nil {
		if d.Remaining() != 0 || got != nil {
			t.Fatalf("%s: %d body bytes for a bodiless op", name, d.Remaining())
		}
	} else {
		if err := jute.UnmarshalExact(d.Rest(), got); err != nil {
			t.Fatalf("%s: decode: %v (%x)", name, err, d.Rest())
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: decoded\n %#v\nwant\n %#v", name, got, want)
		}
	}
	saveGolden(t, "gozk", name, c.payload)
	t.Run(name+"/reencode", func(t *testing.T) {
		re := jute.Marshal(&h)
		if want != nil {
			re = append(re, jute.Marshal(want)...)
		}
		if !bytes.Equal(re, c.payload) {
			t.Fatalf("%s: our encoding\n %x\ngo-zookeeper's\n %x", name, re, c.payload)
		}
	})
}

// saveGolden writes captured bytes under testdata when
// ZKD_UPDATE_GOLDEN=1; the files seed the fuzz targets.
func saveGolden(t *testing.T, dir, name string, b []byte) {
	if os.Getenv("ZKD_UPDATE_GOLDEN") == "" {
		return
	}
	p := filepath.Join("testdata", "golden", dir, name+".bin")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGoZookeeperRequestBytes(t *testing.T) {
	srv := newFakeServer(t)
	conn, events, err := zk.Connect([]string{srv.ln.Addr().String()}, 10*time.Second,
		zk.WithLogger(quietLogger{}), zk.WithHostProvider(&oneHost{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitSession(t, events)

	// The ConnectRequest: go-zookeeper is a pre-3.4 style client that
	// omits readOnly, so it is 44 bytes.
	c := srv.next(t)
	if len(c.payload) != 44 {
		t.Fatalf("connect request is %d bytes", len(c.payload))
	}
	var creq jute.ConnectRequest
	if err := jute.UnmarshalExact(c.payload, &creq); err != nil {
		t.Fatal(err)
	}
	wantReq := jute.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16), OmitReadOnly: true}
	if !reflect.DeepEqual(creq, wantReq) {
		t.Fatalf("connect request %+v", creq)
	}
	if !bytes.Equal(jute.Marshal(&creq), c.payload) {
		t.Fatal("connect request does not re-encode")
	}
	saveGolden(t, "gozk", "connect", c.payload)

	digest := zk.DigestACL(zk.PermRead, "user", "pass")
	digestACL := []jute.ACL{{Perms: 1, ID: jute.Id{Scheme: "digest", ID: "user:smGaoVKd/cQkjm7b88GyorAUz20="}}}
	if digest[0].ID != digestACL[0].ID.ID {
		t.Fatalf("digest id %q", digest[0].ID)
	}
	world := zk.WorldACL(zk.PermAll)

	steps := []struct {
		name string
		call func() error
		op   wire.OpCode
		want jute.Record
	}{
		{"create", func() error { _, err := conn.Create("/gozk", []byte("data"), 0, world); return err },
			wire.OpCreate, &jute.CreateRequest{Path: "/gozk", Data: []byte("data"), ACL: openACL, Flags: 0}},
		{"create-ephemeral-sequential-nil-data", func() error {
			_, err := conn.Create("/gozk/e-", nil, zk.FlagEphemeralSequential, digest)
			return err
		}, wire.OpCreate, &jute.CreateRequest{Path: "/gozk/e-", Data: nil, ACL: digestACL, Flags: 3}},
		{"create-container", func() error {
			_, err := conn.CreateContainer("/ctr", []byte{}, zk.FlagContainer, world)
			return err
		}, wire.OpCreateContainer, &jute.CreateRequest{Path: "/ctr", Data: []byte{}, ACL: openACL, Flags: 4}},
		{"create-ttl", func() error {
			_, err := conn.CreateTTL("/ttl", []byte("t"), zk.FlagTTL, world, 5*time.Second)
			return err
		}, wire.OpCreateTTL, &jute.CreateTTLRequest{Path: "/ttl", Data: []byte("t"), ACL: openACL, Flags: 5, TTL: 5000}},
		{"setData", func() error { _, err := conn.Set("/gozk", []byte("new"), 0); return err },
			wire.OpSetData, &jute.SetDataRequest{Path: "/gozk", Data: []byte("new"), Version: 0}},
		{"getData-watch", func() error { _, _, _, err := conn.GetW("/gozk"); return err },
			wire.OpGetData, &jute.GetDataRequest{Path: "/gozk", Watch: true}},
		{"getData", func() error { _, _, err := conn.Get("/gozk"); return err },
			wire.OpGetData, &jute.GetDataRequest{Path: "/gozk", Watch: false}},
		{"exists-watch", func() error { _, _, _, err := conn.ExistsW("/gozk/x"); return err },
			wire.OpExists, &jute.ExistsRequest{Path: "/gozk/x", Watch: true}},
		{"getChildren2-watch", func() error { _, _, _, err := conn.ChildrenW("/gozk"); return err },
			wire.OpGetChildren2, &jute.GetChildren2Request{Path: "/gozk", Watch: true}},
		{"getACL", func() error { _, _, err := conn.GetACL("/gozk"); return err },
			wire.OpGetACL, &jute.GetACLRequest{Path: "/gozk"}},
		{"setACL", func() error { _, err := conn.SetACL("/gozk", digest, 1); return err },
			wire.OpSetACL, &jute.SetACLRequest{Path: "/gozk", ACL: digestACL, Version: 1}},
		{"sync", func() error { _, err := conn.Sync("/gozk"); return err },
			wire.OpSync, &jute.SyncRequest{Path: "/gozk"}},
		{"delete", func() error { return conn.Delete("/gozk/x", 3) },
			wire.OpDelete, &jute.DeleteRequest{Path: "/gozk/x", Version: 3}},
		{"multi", func() error {
			_, err := conn.Multi(
				&zk.CreateRequest{Path: "/m", Data: []byte("m"), Acl: world, Flags: 0},
				&zk.SetDataRequest{Path: "/m", Data: []byte("n"), Version: -1},
				&zk.CheckVersionRequest{Path: "/m", Version: 1},
				&zk.DeleteRequest{Path: "/m", Version: -1},
			)
			return err
		}, wire.OpMulti, &wire.MultiRequest{Ops: []wire.MultiOp{
			{Type: wire.OpCreate, Record: &jute.CreateRequest{Path: "/m", Data: []byte("m"), ACL: openACL}},
			{Type: wire.OpSetData, Record: &jute.SetDataRequest{Path: "/m", Data: []byte("n"), Version: -1}},
			{Type: wire.OpCheck, Record: &jute.CheckVersionRequest{Path: "/m", Version: 1}},
			{Type: wire.OpDelete, Record: &jute.DeleteRequest{Path: "/m", Version: -1}},
		}}},
		{"multi-empty", func() error { _, err := conn.Multi(); return err },
			wire.OpMulti, &wire.MultiRequest{}},
		{"auth", func() error { return conn.AddAuth("digest", []byte("user:pass")) },
			wire.OpAuth, &jute.AuthPacket{Type: 0, Scheme: "digest", Auth: []byte("user:pass")}},
		{"reconfig", func() error {
			_, err := conn.IncrementalReconfig([]string{"server.4=127.0.0.1:2888:3888"}, []string{"3"}, -1)
			return err
		}, wire.OpReconfig, &jute.ReconfigRequest{JoiningServers: "server.4=127.0.0.1:2888:3888", LeavingServers: "3",
			NewMembersNull: true, CurConfigID: -1}},
	}
	for _, st := range steps {
		if err := st.call(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		goldenRequest(t, st.name, srv.next(t), st.op, st.want)
	}

	// A reconnect: the client resumes the session and replays its auth
	// and its three watches.
	lastZxid := srv.zxid.Load()
	srv.dropConn()
	c = srv.next(t)
	if c.conn != 2 {
		t.Fatalf("frame from connection %d", c.conn)
	}
	if err := jute.UnmarshalExact(c.payload, &creq); err != nil {
		t.Fatal(err)
	}
	wantReq = jute.ConnectRequest{LastZxidSeen: lastZxid, TimeOut: 10000, SessionID: fakeSessionID, Passwd: srv.passwd, OmitReadOnly: true}
	if !reflect.DeepEqual(creq, wantReq) || !bytes.Equal(jute.Marshal(&creq), c.payload) {
		t.Fatalf("reconnect request %+v", creq)
	}
	saveGolden(t, "gozk", "reconnect", c.payload)
	got := map[wire.OpCode]captured{}
	for range 2 {
		c := srv.next(t)
		got[wire.OpCode(binary.BigEndian.Uint32(c.payload[4:]))] = c
	}
	goldenRequest(t, "auth-resend", got[wire.OpAuth], wire.OpAuth,
		&jute.AuthPacket{Type: 0, Scheme: "digest", Auth: []byte("user:pass")})
	goldenRequest(t, "setWatches", got[wire.OpSetWatches], wire.OpSetWatches, &jute.SetWatches{
		RelativeZxid: lastZxid, DataWatches: []string{"/gozk"}, ExistWatches: []string{"/gozk/x"}, ChildWatches: []string{"/gozk"}})

	conn.Close()
	goldenRequest(t, "closeSession", srv.next(t), wire.OpCloseSession, nil)
}
