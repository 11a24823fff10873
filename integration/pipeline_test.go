package integration

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// TestPipelinedRequestsInOrder sends thousands of writes and reads without
// waiting (past the per-connection flow-control limit) and checks every
// reply comes back, in request order, each read seeing the writes before
// it.
func TestPipelinedRequestsInOrder(t *testing.T) {
	p := startZkd(t, nil)
	r := dialRaw(t, p.Addr)
	r.connect(10000)
	const n = 3000
	var e jute.Encoder
	frame := func(xid int32, op wire.OpCode, rec jute.Record) { appendRequest(&e, xid, op, rec) }
	frame(1, wire.OpCreate, &jute.CreateRequest{Path: "/p", ACL: openACL(), Flags: 0})
	for i := 0; i < n; i++ {
		frame(int32(2+2*i), wire.OpSetData, &jute.SetDataRequest{Path: "/p", Data: []byte(fmt.Sprint(i)), Version: -1})
		frame(int32(3+2*i), wire.OpGetData, &jute.GetDataRequest{Path: "/p"})
	}
	go func() { _, _ = r.c.Write(e.Bytes()) }()
	for xid := int32(1); xid <= 1+2*n; xid++ {
		d := r.replyOK(xid)
		if xid > 1 && xid%2 == 1 {
			var gd jute.GetDataResponse
			gd.Decode(d)
			if want := fmt.Sprint((xid - 3) / 2); string(gd.Data) != want {
				t.Fatalf("read %d saw %q, want %q", xid, gd.Data, want)
			}
		}
	}
}

func openACL() []jute.ACL {
	return []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
}

// TestLargeRepliesBehindWrites queues big reads behind writes while the
// client stops reading, so replies written after an apply meet a full
// socket: what the socket does not take must reach the client whole and in
// order once it reads again.
func TestLargeRepliesBehindWrites(t *testing.T) {
	p := startZkd(t, nil)
	r := dialRaw(t, p.Addr)
	r.connect(10000)
	big := make([]byte, 512<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	const n = 40 // 20 MiB of replies: far past any socket buffer
	var e jute.Encoder
	frame := func(xid int32, op wire.OpCode, rec jute.Record) { appendRequest(&e, xid, op, rec) }
	frame(1, wire.OpCreate, &jute.CreateRequest{Path: "/big", Data: big, ACL: openACL()})
	frame(2, wire.OpCreate, &jute.CreateRequest{Path: "/p", ACL: openACL()})
	for i := 0; i < n; i++ {
		frame(int32(3+2*i), wire.OpSetData, &jute.SetDataRequest{Path: "/p", Data: []byte(fmt.Sprint(i)), Version: -1})
		frame(int32(4+2*i), wire.OpGetData, &jute.GetDataRequest{Path: "/big"})
	}
	if _, err := r.c.Write(e.Bytes()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the replies pile up
	for xid := int32(1); xid <= 2+2*n; xid++ {
		d := r.replyOK(xid)
		if xid > 2 && xid%2 == 0 {
			var gd jute.GetDataResponse
			gd.Decode(d)
			if !bytes.Equal(gd.Data, big) {
				t.Fatalf("read %d: %d bytes, not the node's data", xid, len(gd.Data))
			}
		}
	}
}
