package wire_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// rawClient talks to a server over a socket with our own records only.
type rawClient struct {
	t   *testing.T
	c   net.Conn
	xid int32
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c}
}

func (r *rawClient) send(recs ...jute.Record) {
	r.t.Helper()
	r.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := writeFrame(r.c, recs...); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawClient) recv() []byte {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := readFrame(r.c)
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return b
}

// connect performs the handshake and returns the raw response.
func (r *rawClient) connect(req *jute.ConnectRequest) []byte {
	r.t.Helper()
	r.send(req)
	return r.recv()
}

// call sends a request with the next xid (or the given special xid) and
// returns the reply frame and any notifications that came before it.
func (r *rawClient) call(xid int32, op wire.OpCode, body jute.Record) (reply []byte, notes [][]byte) {
	r.t.Helper()
	if xid == 0 {
		r.xid++
		xid = r.xid
	}
	h := jute.RequestHeader{Xid: xid, Type: int32(op)}
	if body != nil {
		r.send(&h, body)
	} else {
		r.send(&h)
	}
	for {
		f := r.recv()
		var rh jute.ReplyHeader
		if err := jute.Unmarshal(f, &rh); err != nil {
			r.t.Fatal(err)
		}
		if rh.Xid == wire.XidNotification {
			notes = append(notes, f)
			continue
		}
		if rh.Xid != xid {
			r.t.Fatalf("reply xid %d to request xid %d", rh.Xid, xid)
		}
		return f, notes
	}
}

// zkReplyBodies maps each golden reply name to the record its body
// holds (nil: header only). The same table checks the files stored in
// testdata/golden/zk38 when ZooKeeper is not installed.
var zkReplyBodies = map[string]func() jute.Record{
	"connect-response":               func() jute.Record { return &jute.ConnectResponse{} },
	"connect-response-old-client":    func() jute.Record { return &jute.ConnectResponse{} },
	"create2":                        func() jute.Record { return &jute.Create2Response{} },
	"create-sequential-ephemeral":    func() jute.Record { return &jute.CreateResponse{} },
	"create-container":               func() jute.Record { return &jute.Create2Response{} },
	"create-ttl":                     func() jute.Record { return &jute.Create2Response{} },
	"exists":                         func() jute.Record { return &jute.ExistsResponse{} },
	"getData-watch":                  func() jute.Record { return &jute.GetDataResponse{} },
	"getData-empty":                  func() jute.Record { return &jute.GetDataResponse{} },
	"getData-null":                   func() jute.Record { return &jute.GetDataResponse{} },
	"notification-data-changed":      func() jute.Record { return &jute.WatcherEvent{} },
	"setData":                        func() jute.Record { return &jute.SetDataResponse{} },
	"getChildren2":                   func() jute.Record { return &jute.GetChildren2Response{} },
	"getChildren":                    func() jute.Record { return &jute.GetChildrenResponse{} },
	"getACL":                         func() jute.Record { return &jute.GetACLResponse{} },
	"setACL":                         func() jute.Record { return &jute.SetACLResponse{} },
	"error-nodeexists":               nil,
	"error-nonode":                   nil,
	"multi-failed":                   func() jute.Record { return &wire.MultiResponse{} },
	"multi-ok":                       func() jute.Record { return &wire.MultiResponse{} },
	"multi-empty":                    func() jute.Record { return &wire.MultiResponse{} },
	"multiRead":                      func() jute.Record { return &wire.MultiResponse{} },
	"ping":                           nil,
	"auth":                           nil,
	"whoAmI":                         func() jute.Record { return &jute.WhoAmIResponse{} },
	"sync":                           func() jute.Record { return &jute.SyncResponse{} },
	"getAllChildrenNumber":           func() jute.Record { return &jute.GetAllChildrenNumberResponse{} },
	"getEphemerals":                  func() jute.Record { return &jute.GetEphemeralsResponse{} },
	"addWatch":                       func() jute.Record { return &jute.ErrorResponse{} },
	"checkWatches":                   nil,
	"setWatches":                     nil,
	"notification-setWatches":        func() jute.Record { return &jute.WatcherEvent{} },
	"delete":                         nil,
	"notification-children-changed":  func() jute.Record { return &jute.WatcherEvent{} },
	"notification-persistent-delete": func() jute.Record { return &jute.WatcherEvent{} },
	"closeSession":                   nil,
}

// checkFrame decodes a server frame as ReplyHeader + body (no header for
// the connect response), exactly, and checks our encoders reproduce it.
func checkFrame(t *testing.T, name string, frame []byte) (jute.ReplyHeader, jute.Record) {
	t.Helper()
	mk, ok := zkReplyBodies[name]
	if !ok {
		t.Fatalf("no body type for %q", name)
	}
	var body jute.Record
	if mk != nil {
		body = mk()
	}
	d := jute.NewDecoder(frame)
	var h jute.ReplyHeader
	var re []byte
	if !strings.HasPrefix(name, "connect-") {
		h.Decode(d)
		re = jute.Marshal(&h)
	}
	if body != nil {
		body.Decode(d)
		re = append(re, jute.Marshal(body)...)
	}
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("%s: decode: %v, %d bytes left of %x", name, d.Err(), d.Remaining(), frame)
	}
	if !bytes.Equal(re, frame) {
		t.Fatalf("%s: our encoding\n %x\nZooKeeper's\n %x", name, re, frame)
	}
	saveGolden(t, "zk38", name, frame)
	return h, body
}

// TestZooKeeperGoldenFiles re-checks the replies stored from a real
// ZooKeeper 3.8, so the byte comparison runs without Java too.
func TestZooKeeperGoldenFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "zk38", "*.bin"))
	if len(files) == 0 {
		t.Skip("no stored replies")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".bin")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkFrame(t, name, b)
	}
}

func TestZooKeeperReplyBytes(t *testing.T) {
	zk := startZooKeeper(t, "", "extendedTypesEnabled=true")

	// An old (3.3) client without the readOnly byte gets 36 bytes back.
	old := dialRaw(t, zk.Addr)
	resp := old.connect(&jute.ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), OmitReadOnly: true})
	if len(resp) != 36 {
		t.Fatalf("old client: connect response is %d bytes, want 36", len(resp))
	}
	_, rec := checkFrame(t, "connect-response-old-client", resp)
	if cr := rec.(*jute.ConnectResponse); !cr.OmitReadOnly || cr.SessionID == 0 || cr.TimeOut != 30000 {
		t.Fatalf("%+v", cr)
	}

	c := dialRaw(t, zk.Addr)
	resp = c.connect(&jute.ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)})
	if len(resp) != 37 {
		t.Fatalf("connect response is %d bytes, want 37", len(resp))
	}
	_, rec = checkFrame(t, "connect-response", resp)
	conn := rec.(*jute.ConnectResponse)
	if conn.OmitReadOnly || conn.ReadOnly || conn.ProtocolVersion != 0 || conn.TimeOut != 30000 || len(conn.Passwd) != 16 {
		t.Fatalf("%+v", conn)
	}
	session := conn.SessionID

	// create2: Stat of a new node (§4.2).
	f, _ := c.call(0, wire.OpCreate2, &jute.CreateRequest{Path: "/g", Data: []byte("hello"), ACL: openACL})
	h, rec := checkFrame(t, "create2", f)
	cr := rec.(*jute.Create2Response)
	createZxid := h.Zxid
	st := cr.Stat
	if cr.Path != "/g" || h.Err != 0 || st.Czxid != h.Zxid || st.Mzxid != h.Zxid || st.Pzxid != h.Zxid ||
		st.Ctime != st.Mtime || st.Ctime == 0 || st.Version != 0 || st.Cversion != 0 || st.Aversion != 0 ||
		st.EphemeralOwner != 0 || st.DataLength != 5 || st.NumChildren != 0 {
		t.Fatalf("create2: %+v %+v", h, cr)
	}

	// An ephemeral sequential child: the suffix is the parent's cversion.
	f, _ = c.call(0, wire.OpCreate, &jute.CreateRequest{Path: "/g/s-", ACL: openACL, Flags: 3})
	_, rec = checkFrame(t, "create-sequential-ephemeral", f)
	if p := rec.(*jute.CreateResponse).Path; p != "/g/s-0000000000" {
		t.Fatalf("sequential path %q", p)
	}
	f, _ = c.call(0, wire.OpExists, &jute.ExistsRequest{Path: "/g/s-0000000000"})
	_, rec = checkFrame(t, "exists", f)
	if st := rec.(*jute.ExistsResponse).Stat; st.EphemeralOwner != session || st.DataLength != 0 {
		t.Fatalf("ephemeral stat %+v", st)
	}

	// Container and TTL nodes (extendedTypesEnabled): clients never see
	// their special owners; DataNode.copyStat reports 0 for any owner
	// that is not a NORMAL ephemeral.
	f, _ = c.call(0, wire.OpCreateContainer, &jute.CreateRequest{Path: "/ctr", Data: []byte{}, ACL: openACL, Flags: 4})
	_, rec = checkFrame(t, "create-container", f)
	if st := rec.(*jute.Create2Response).Stat; st.EphemeralOwner != 0 {
		t.Fatalf("container owner %x", st.EphemeralOwner)
	}
	f, _ = c.call(0, wire.OpCreateTTL, &jute.CreateTTLRequest{Path: "/ttl", ACL: openACL, Flags: 5, TTL: 600000})
	_, rec = checkFrame(t, "create-ttl", f)
	if st := rec.(*jute.Create2Response).Stat; st.EphemeralOwner != 0 {
		t.Fatalf("ttl owner %x", st.EphemeralOwner)
	}

	// getData with a watch, then setData: the notification (xid -1, zxid
	// -1 in 3.8) comes before the reply.
	f, _ = c.call(0, wire.OpGetData, &jute.GetDataRequest{Path: "/g", Watch: true})
	_, rec = checkFrame(t, "getData-watch", f)
	if gd := rec.(*jute.GetDataResponse); string(gd.Data) != "hello" || gd.Stat.Cversion != 1 || gd.Stat.NumChildren != 1 {
		t.Fatalf("getData %+v", gd)
	}
	f, notes := c.call(0, wire.OpSetData, &jute.SetDataRequest{Path: "/g", Data: []byte("world"), Version: 0})
	if len(notes) != 1 {
		t.Fatalf("%d notifications before the setData reply", len(notes))
	}
	nh, rec := checkFrame(t, "notification-data-changed", notes[0])
	wantNote := jute.WatcherEvent{Type: int32(wire.EventNodeDataChanged), State: int32(wire.StateSyncConnected), Path: "/g"}
	if nh != (jute.ReplyHeader{Xid: -1, Zxid: -1}) || *rec.(*jute.WatcherEvent) != wantNote {
		t.Fatalf("notification %+v %+v", nh, rec)
	}
	h, rec = checkFrame(t, "setData", f)
	if st := rec.(*jute.SetDataResponse).Stat; st.Version != 1 || st.Mzxid != h.Zxid || st.Czxid != createZxid || st.DataLength != 5 {
		t.Fatalf("setData stat %+v", st)
	}

	// Data of the root and of a node created with null data: ZooKeeper's
	// own nodes hold an empty array, a client's null stays null.
	f, _ = c.call(0, wire.OpGetData, &jute.GetDataRequest{Path: "/"})
	_, rec = checkFrame(t, "getData-empty", f)
	if d := rec.(*jute.GetDataResponse).Data; d == nil || len(d) != 0 {
		t.Fatalf("root data %#v", d)
	}
	f, _ = c.call(0, wire.OpGetData, &jute.GetDataRequest{Path: "/g/s-0000000000"})
	_, rec = checkFrame(t, "getData-null", f)
	if d := rec.(*jute.GetDataResponse).Data; d != nil {
		t.Fatalf("null data came back as %#v", d)
	}

	f, _ = c.call(0, wire.OpGetChildren2, &jute.GetChildren2Request{Path: "/g", Watch: true})
	_, rec = checkFrame(t, "getChildren2", f)
	if gc := rec.(*jute.GetChildren2Response); !slices.Equal(gc.Children, []string{"s-0000000000"}) || gc.Stat.Cversion != 1 {
		t.Fatalf("getChildren2 %+v", gc)
	}
	f, _ = c.call(0, wire.OpGetChildren, &jute.GetChildrenRequest{Path: "/"})
	_, rec = checkFrame(t, "getChildren", f)
	children := rec.(*jute.GetChildrenResponse).Children
	slices.Sort(children)
	if !slices.Equal(children, []string{"ctr", "g", "ttl", "zookeeper"}) {
		t.Fatalf("children of /: %q", children)
	}

	f, _ = c.call(0, wire.OpGetACL, &jute.GetACLRequest{Path: "/g"})
	_, rec = checkFrame(t, "getACL", f)
	if !reflect.DeepEqual(rec.(*jute.GetACLResponse).ACL, openACL) {
		t.Fatalf("getACL %+v", rec)
	}
	digestACL := []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}},
		{Perms: 1, ID: jute.Id{Scheme: "digest", ID: "user:smGaoVKd/cQkjm7b88GyorAUz20="}}}
	f, _ = c.call(0, wire.OpSetACL, &jute.SetACLRequest{Path: "/g", ACL: digestACL, Version: 0})
	_, rec = checkFrame(t, "setACL", f)
	if st := rec.(*jute.SetACLResponse).Stat; st.Aversion != 1 || st.Version != 1 {
		t.Fatalf("setACL stat %+v", st)
	}

	// Errors: the ReplyHeader alone, 16 bytes.
	f, _ = c.call(0, wire.OpCreate, &jute.CreateRequest{Path: "/g", ACL: openACL})
	h, _ = checkFrame(t, "error-nodeexists", f)
	if len(f) != 16 || wire.Error(h.Err) != wire.ErrNodeExists {
		t.Fatalf("%+v (%d bytes)", h, len(f))
	}
	f, _ = c.call(0, wire.OpGetData, &jute.GetDataRequest{Path: "/nope"})
	h, _ = checkFrame(t, "error-nonode", f)
	if len(f) != 16 || wire.Error(h.Err) != wire.ErrNoNode {
		t.Fatalf("%+v (%d bytes)", h, len(f))
	}

	// A failed multi: header err 0, then ErrorResults 0 / code / -2.
	f, _ = c.call(0, wire.OpMulti, &wire.MultiRequest{Ops: []wire.MultiOp{
		{Type: wire.OpCreate, Record: &jute.CreateRequest{Path: "/m1", ACL: openACL}},
		{Type: wire.OpCreate, Record: &jute.CreateRequest{Path: "/g", ACL: openACL}},
		{Type: wire.OpSetData, Record: &jute.SetDataRequest{Path: "/g", Data: []byte("x"), Version: -1}},
	}})
	h, rec = checkFrame(t, "multi-failed", f)
	wantFailed := &wire.MultiResponse{Results: []wire.MultiResult{
		{Type: wire.OpError, Err: wire.ErrOK},
		{Type: wire.OpError, Err: wire.ErrNodeExists},
		{Type: wire.OpError, Err: wire.ErrRuntimeInconsistency},
	}}
	if h.Err != 0 || !reflect.DeepEqual(rec, wantFailed) {
		t.Fatalf("failed multi: %+v %#v", h, rec)
	}
	if !bytes.Equal(f[16:], jute.Marshal(wantFailed)) {
		t.Fatal("our encoding of the failed multi differs")
	}
	f, _ = c.call(0, wire.OpExists, &jute.ExistsRequest{Path: "/m1"})
	if h, _ := checkFrame(t, "error-nonode", f); wire.Error(h.Err) != wire.ErrNoNode {
		t.Fatal("a failed multi applied its first op")
	}

	// A successful multi with every write op. create2 inside a multi is
	// answered as create (1): MultiOperationRecord rebuilds the op from
	// its flags.
	f, _ = c.call(0, wire.OpMulti, &wire.MultiRequest{Ops: []wire.MultiOp{
		{Type: wire.OpCreate, Record: &jute.CreateRequest{Path: "/m2", Data: []byte("a"), ACL: openACL}},
		{Type: wire.OpCreate2, Record: &jute.CreateRequest{Path: "/m3", ACL: openACL, Flags: 2}},
		{Type: wire.OpSetData, Record: &jute.SetDataRequest{Path: "/m2", Data: []byte("b"), Version: 0}},
		{Type: wire.OpCheck, Record: &jute.CheckVersionRequest{Path: "/m2", Version: 1}},
		{Type: wire.OpDelete, Record: &jute.DeleteRequest{Path: "/m2", Version: 1}},
	}})
	h, rec = checkFrame(t, "multi-ok", f)
	mr := rec.(*wire.MultiResponse)
	var types []wire.OpCode
	for _, r := range mr.Results {
		types = append(types, r.Type)
	}
	if h.Err != 0 || !slices.Equal(types, []wire.OpCode{wire.OpCreate, wire.OpCreate, wire.OpSetData, wire.OpCheck, wire.OpDelete}) {
		t.Fatalf("multi result types %v", types)
	}
	m3Path := mr.Results[1].Record.(*jute.CreateResponse).Path
	if !strings.HasPrefix(m3Path, "/m3") || len(m3Path) != len("/m3")+10 {
		t.Fatalf("sequential name in multi: %q", m3Path)
	}
	if st := mr.Results[2].Record.(*jute.SetDataResponse).Stat; st.Version != 1 || st.Mzxid != h.Zxid || st.Czxid != h.Zxid {
		t.Fatalf("multi setData stat %+v (zxid %x)", st, h.Zxid)
	}

	f, _ = c.call(0, wire.OpMulti, &wire.MultiRequest{})
	h, rec = checkFrame(t, "multi-empty", f)
	if len(rec.(*wire.MultiResponse).Results) != 0 || h.Err != 0 {
		t.Fatalf("empty multi %+v", rec)
	}

	f, _ = c.call(0, wire.OpMultiRead, &wire.MultiRequest{Ops: []wire.MultiOp{
		{Type: wire.OpGetData, Record: &jute.GetDataRequest{Path: "/g"}},
		{Type: wire.OpGetChildren, Record: &jute.GetChildrenRequest{Path: "/nope"}},
		{Type: wire.OpGetChildren, Record: &jute.GetChildrenRequest{Path: "/g"}},
	}})
	h, rec = checkFrame(t, "multiRead", f)
	mr = rec.(*wire.MultiResponse)
	if h.Err != 0 || len(mr.Results) != 3 || mr.Results[0].Type != wire.OpGetData ||
		mr.Results[1].Type != wire.OpError || mr.Results[1].Err != wire.ErrNoNode || mr.Results[2].Type != wire.OpGetChildren {
		t.Fatalf("multiRead %+v", mr.Results)
	}

	// Ping and auth replies: header only, with the special xids.
	f, _ = c.call(wire.XidPing, wire.OpPing, nil)
	h, _ = checkFrame(t, "ping", f)
	if h.Xid != -2 || h.Err != 0 || h.Zxid < createZxid || len(f) != 16 {
		t.Fatalf("ping %+v", h)
	}
	f, _ = c.call(wire.XidAuth, wire.OpAuth, &jute.AuthPacket{Scheme: "digest", Auth: []byte("user:pass")})
	h, _ = checkFrame(t, "auth", f)
	if h != (jute.ReplyHeader{Xid: -4}) {
		t.Fatalf("auth %+v", h)
	}
	f, _ = c.call(0, wire.OpWhoAmI, nil)
	_, rec = checkFrame(t, "whoAmI", f)
	wantWho := []jute.ClientInfo{{AuthScheme: "ip", User: "127.0.0.1"}, {AuthScheme: "digest", User: "user"}}
	if !reflect.DeepEqual(rec.(*jute.WhoAmIResponse).ClientInfo, wantWho) {
		t.Fatalf("whoAmI %+v", rec)
	}

	f, _ = c.call(0, wire.OpSync, &jute.SyncRequest{Path: "/g"})
	if _, rec = checkFrame(t, "sync", f); rec.(*jute.SyncResponse).Path != "/g" {
		t.Fatalf("sync %+v", rec)
	}
	f, _ = c.call(0, wire.OpGetAllChildrenNumber, &jute.GetAllChildrenNumberRequest{Path: "/g"})
	if _, rec = checkFrame(t, "getAllChildrenNumber", f); rec.(*jute.GetAllChildrenNumberResponse).TotalNumber != 1 {
		t.Fatalf("getAllChildrenNumber %+v", rec)
	}
	f, _ = c.call(0, wire.OpGetEphemerals, &jute.GetEphemeralsRequest{PrefixPath: "/"})
	if _, rec = checkFrame(t, "getEphemerals", f); !slices.Equal(rec.(*jute.GetEphemeralsResponse).Ephemerals, []string{"/g/s-0000000000"}) {
		t.Fatalf("getEphemerals %+v", rec)
	}
	f, _ = c.call(0, wire.OpAddWatch, &jute.AddWatchRequest{Path: m3Path, Mode: wire.AddWatchPersistent})
	if h, rec = checkFrame(t, "addWatch", f); h.Err != 0 || rec.(*jute.ErrorResponse).Err != 0 || len(f) != 20 {
		t.Fatalf("addWatch %+v %+v", h, rec)
	}
	f, _ = c.call(0, wire.OpCheckWatches, &jute.CheckWatchesRequest{Path: "/ctr", Type: int32(wire.WatcherData)})
	if h, _ = checkFrame(t, "checkWatches", f); wire.Error(h.Err) != wire.ErrNoWatcher {
		t.Fatalf("checkWatches %+v", h)
	}

	// setWatches with relativeZxid 0 fires NodeDataChanged at once.
	f, notes = c.call(wire.XidSetWatches, wire.OpSetWatches, &jute.SetWatches{
		DataWatches: []string{"/g"}, ExistWatches: []string{}, ChildWatches: []string{}})
	if h, _ = checkFrame(t, "setWatches", f); h.Xid != -8 || h.Err != 0 {
		t.Fatalf("setWatches %+v", h)
	}
	if len(notes) != 1 {
		t.Fatalf("%d notifications for setWatches", len(notes))
	}
	if _, rec = checkFrame(t, "notification-setWatches", notes[0]); *rec.(*jute.WatcherEvent) != wantNote {
		t.Fatalf("setWatches notification %+v", rec)
	}

	// Deleting the child fires the child watch set by getChildren2.
	f, notes = c.call(0, wire.OpDelete, &jute.DeleteRequest{Path: "/g/s-0000000000", Version: -1})
	checkFrame(t, "delete", f)
	if len(notes) != 1 {
		t.Fatalf("%d notifications for delete", len(notes))
	}
	_, rec = checkFrame(t, "notification-children-changed", notes[0])
	if *rec.(*jute.WatcherEvent) != (jute.WatcherEvent{Type: 4, State: 3, Path: "/g"}) {
		t.Fatalf("child notification %+v", rec)
	}
	// Clients see cversion as a count of child changes: DataNode.copyStat
	// reports the stored count of creates times two less the children
	// still there, so after one create and one delete it reads 2, though
	// the delete did not touch the stored value.
	f, _ = c.call(0, wire.OpExists, &jute.ExistsRequest{Path: "/g"})
	_, rec = checkFrame(t, "exists", f)
	if st := rec.(*jute.ExistsResponse).Stat; st.Cversion != 2 || st.NumChildren != 0 {
		t.Fatalf("parent stat after create+delete: %+v", st)
	}
	// The persistent watch on the multi's sequential node sees its
	// deletion.
	f, notes = c.call(0, wire.OpDelete, &jute.DeleteRequest{Path: m3Path, Version: -1})
	checkFrame(t, "delete", f)
	if len(notes) != 1 {
		t.Fatalf("%d notifications for delete of the watched node", len(notes))
	}
	_, rec = checkFrame(t, "notification-persistent-delete", notes[0])
	if ev := rec.(*jute.WatcherEvent); ev.Type != int32(wire.EventNodeDeleted) {
		t.Fatalf("persistent watch notification %+v", ev)
	}

	// closeSession: a header, then the server closes the socket.
	f, _ = c.call(0, wire.OpCloseSession, nil)
	checkFrame(t, "closeSession", f)
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readFrame(c.c); !errors.Is(err, io.EOF) {
		t.Fatalf("after closeSession: %v", err)
	}
}
