package wire_test

import (
	"bytes"
	"reflect"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

func hdr(typ wire.OpCode) jute.TxnHeader {
	return jute.TxnHeader{ClientID: 0x0100003fd8750000, Cxid: 7, Zxid: 0x100000005, Time: 1700000000123, Type: int32(typ)}
}

func hdrR(typ wire.OpCode) []any {
	return []any{int64(0x0100003fd8750000), int32(7), int64(0x100000005), int64(1700000000123), int32(typ)}
}

var digestR = []any{int32(2), int64(-0x123456789)}

// txnCases covers every txn type SerializeUtils.deserializeTxn reads.
func txnCases() []struct {
	name string
	txn  wire.Txn
	body []byte
} {
	sub := func(r jute.Record) []byte { return jute.Marshal(r) }
	return []struct {
		name string
		txn  wire.Txn
		body []byte
	}{
		{"createSession", wire.Txn{Header: hdr(wire.OpCreateSession), Record: &jute.CreateSessionTxn{TimeOut: 30000}},
			ref(int32(30000))},
		{"closeSession", wire.Txn{Header: hdr(wire.OpCloseSession), Record: &jute.CloseSessionTxn{Paths2Delete: []string{"/e"}}},
			ref(int32(1), "/e")},
		{"closeSession no ephemerals", wire.Txn{Header: hdr(wire.OpCloseSession), Record: &jute.CloseSessionTxn{Paths2Delete: []string{}}},
			ref(int32(0))},
		{"create", wire.Txn{Header: hdr(wire.OpCreate), Record: &jute.CreateTxn{Path: "/a", Data: []byte("x"), ACL: openACL, Ephemeral: true, ParentCVersion: 3}},
			ref("/a", []byte("x"), openACLR, true, int32(3))},
		{"create2", wire.Txn{Header: hdr(wire.OpCreate2), Record: &jute.CreateTxn{Path: "/a", Data: nil, ACL: openACL, ParentCVersion: 1}},
			ref("/a", null{}, openACLR, false, int32(1))},
		{"createTTL", wire.Txn{Header: hdr(wire.OpCreateTTL), Record: &jute.CreateTTLTxn{Path: "/t", Data: []byte{}, ACL: openACL, ParentCVersion: 2, TTL: 500}},
			ref("/t", []byte{}, openACLR, int32(2), int64(500))},
		{"createContainer", wire.Txn{Header: hdr(wire.OpCreateContainer), Record: &jute.CreateContainerTxn{Path: "/c", Data: []byte{1}, ACL: openACL, ParentCVersion: 4}},
			ref("/c", []byte{1}, openACLR, int32(4))},
		{"delete", wire.Txn{Header: hdr(wire.OpDelete), Record: &jute.DeleteTxn{Path: "/a"}}, ref("/a")},
		{"deleteContainer", wire.Txn{Header: hdr(wire.OpDeleteContainer), Record: &jute.DeleteTxn{Path: "/c"}}, ref("/c")},
		{"setData", wire.Txn{Header: hdr(wire.OpSetData), Record: &jute.SetDataTxn{Path: "/a", Data: []byte("y"), Version: 2}},
			ref("/a", []byte("y"), int32(2))},
		{"reconfig", wire.Txn{Header: hdr(wire.OpReconfig), Record: &jute.SetDataTxn{Path: "/zookeeper/config", Data: []byte("version=1"), Version: -1}},
			ref("/zookeeper/config", []byte("version=1"), int32(-1))},
		{"setACL", wire.Txn{Header: hdr(wire.OpSetACL), Record: &jute.SetACLTxn{Path: "/a", ACL: openACL, Version: 1}},
			ref("/a", openACLR, int32(1))},
		{"error", wire.Txn{Header: hdr(wire.OpError), Record: &jute.ErrorTxn{Err: -110}}, ref(int32(-110))},
		{"multi", wire.Txn{Header: hdr(wire.OpMulti), Record: &jute.MultiTxn{Txns: []jute.Txn{
			{Type: int32(wire.OpCreate), Data: sub(&jute.CreateTxn{Path: "/m", ACL: openACL, ParentCVersion: 1})},
			{Type: int32(wire.OpCheck), Data: sub(&jute.CheckVersionTxn{Path: "/m", Version: 0})},
			{Type: int32(wire.OpSetData), Data: sub(&jute.SetDataTxn{Path: "/m", Data: []byte{}, Version: 1})},
			{Type: int32(wire.OpDelete), Data: sub(&jute.DeleteTxn{Path: "/m"})},
		}}}, ref(int32(4),
			int32(1), sub(&jute.CreateTxn{Path: "/m", ACL: openACL, ParentCVersion: 1}),
			int32(13), sub(&jute.CheckVersionTxn{Path: "/m", Version: 0}),
			int32(5), sub(&jute.SetDataTxn{Path: "/m", Data: []byte{}, Version: 1}),
			int32(2), sub(&jute.DeleteTxn{Path: "/m"}))},
		{"failed multi", wire.Txn{Header: hdr(wire.OpMulti), Record: &jute.MultiTxn{Txns: []jute.Txn{
			{Type: int32(wire.OpCreate), Data: sub(&jute.CreateTxn{Path: "/m", ACL: openACL, ParentCVersion: 1})},
			{Type: int32(wire.OpError), Data: sub(&jute.ErrorTxn{Err: -110})},
			{Type: int32(wire.OpError), Data: sub(&jute.ErrorTxn{Err: -2})},
		}}}, ref(int32(3),
			int32(1), sub(&jute.CreateTxn{Path: "/m", ACL: openACL, ParentCVersion: 1}),
			int32(-1), ref(int32(-110)),
			int32(-1), ref(int32(-2)))},
		{"check (only seen inside multi)", wire.Txn{Header: hdr(wire.OpCheck), Record: &jute.CheckVersionTxn{Path: "/a", Version: 3}},
			ref("/a", int32(3))},
	}
}

func TestTxnRoundTrip(t *testing.T) {
	for _, tc := range txnCases() {
		for _, withDigest := range []bool{false, true} {
			name := tc.name
			if withDigest {
				name += "/digest"
			}
			t.Run(name, func(t *testing.T) {
				txn := tc.txn
				want := ref(hdrR(txn.Type()), raw(tc.body))
				if withDigest {
					txn.Digest = &jute.TxnDigest{Version: 2, TreeDigest: -0x123456789}
					want = ref(hdrR(txn.Type()), raw(tc.body), digestR)
				}
				if got := jute.Marshal(&txn); !bytes.Equal(got, want) {
					t.Fatalf("encode:\n got %x\nwant %x", got, want)
				}
				back, err := wire.DecodeTxn(want)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(back, txn) {
					t.Fatalf("decode:\n got %#v\nwant %#v", back, txn)
				}
				if again := jute.Marshal(&back); !bytes.Equal(again, want) {
					t.Fatalf("re-encode %x", again)
				}
				// Every strict prefix that cuts into the header or record
				// fails; cutting into the digest drops it.
				// A create cut inside parentCVersion reads as the V0 layout.
				recEnd := len(ref(hdrR(txn.Type()), raw(tc.body)))
				for n := 0; n < len(want); n++ {
					got, err := wire.DecodeTxn(want[:n])
					isCreate := txn.Type() == wire.OpCreate || txn.Type() == wire.OpCreate2
					switch {
					case isCreate && n >= recEnd-4 && n < recEnd:
						if err != nil || got.Record.(*jute.CreateTxn).ParentCVersion != -1 {
							t.Fatalf("prefix %d/%d: V0 fallback: %v %#v", n, len(want), err, got.Record)
						}
					case n < recEnd && err == nil && !(txn.Type() == wire.OpCloseSession && n == 32):
						t.Fatalf("prefix %d/%d decoded: %#v", n, len(want), got.Record)
					case n >= recEnd && (err != nil || got.Digest != nil):
						t.Fatalf("prefix %d/%d: %v, digest %v", n, len(want), err, got.Digest)
					}
				}
			})
		}
	}
}

// TestTxnErrorTxnNoDigest: ZooKeeper logs ErrorTxn entries without a
// digest (§4.1).
func TestTxnErrorTxnNoDigest(t *testing.T) {
	in := ref(hdrR(wire.OpError), int32(-101))
	txn, err := wire.DecodeTxn(in)
	if err != nil || txn.Digest != nil || txn.Record.(*jute.ErrorTxn).Err != -101 || txn.Type() != wire.OpError {
		t.Fatalf("%v %#v", err, txn)
	}
}

// TestTxnCreateV0 reads the pre-3.3 create layout (no parentCVersion),
// which deserializeTxn retries on EOF, with parentCVersion -1.
func TestTxnCreateV0(t *testing.T) {
	in := ref(hdrR(wire.OpCreate), "/old", []byte("d"), openACLR, true)
	txn, err := wire.DecodeTxn(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &jute.CreateTxn{Path: "/old", Data: []byte("d"), ACL: openACL, Ephemeral: true, ParentCVersion: -1}
	if !reflect.DeepEqual(txn.Record, want) || txn.Digest != nil {
		t.Fatalf("%#v %v", txn.Record, txn.Digest)
	}
	// A V0 create whose ephemeral byte is missing is corrupt either way.
	if _, err := wire.DecodeTxn(in[:len(in)-1]); err == nil {
		t.Fatal("truncated V0 create accepted")
	}
}

// TestTxnEmptyCloseSession: a closeSession with no body is the format of
// zookeeper.closeSessionTxn.enabled=false (and of old logs).
func TestTxnEmptyCloseSession(t *testing.T) {
	in := ref(hdrR(wire.OpCloseSession))
	txn, err := wire.DecodeTxn(in)
	if err != nil {
		t.Fatal(err)
	}
	if txn.Digest != nil || txn.Type() != wire.OpCloseSession {
		t.Fatalf("%#v", txn)
	}
	if c, ok := txn.Record.(*jute.CloseSessionTxn); ok && c.Paths2Delete != nil {
		t.Fatalf("paths %q", c.Paths2Delete)
	}
}

func TestTxnEmptyCloseSessionReencodes(t *testing.T) {
	in := ref(hdrR(wire.OpCloseSession))
	txn, err := wire.DecodeTxn(in)
	if err != nil {
		t.Fatal(err)
	}
	if txn.Record != nil {
		t.Fatalf("record %#v for an empty body", txn.Record)
	}
	if got := jute.Marshal(&txn); !bytes.Equal(got, in) {
		t.Fatalf("re-encoded %x, want %x", got, in)
	}
}

func TestTxnDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short header", ref(hdrR(wire.OpDelete))[:20]},
		{"unknown type", ref(hdrR(99), "/a")},
		{"notification type", ref(hdrR(wire.OpNotification))},
		{"read op type", ref(hdrR(wire.OpGetData), "/a", false)},
		{"header only create", ref(hdrR(wire.OpCreate))},
		{"header only createSession", ref(hdrR(wire.OpCreateSession))},
		{"negative path length", ref(hdrR(wire.OpDelete), int32(-2))},
		{"huge acl count", ref(hdrR(wire.OpCreate), "/a", null{}, int32(0x7fffffff), false, int32(0))},
		{"huge multi count", ref(hdrR(wire.OpMulti), int32(0x7fffffff))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if txn, err := wire.DecodeTxn(tc.in); err == nil {
				t.Fatalf("decoded %#v", txn)
			}
		})
	}
}

// TestTxnTrailingBytes: bytes after the record that are too few for a
// digest are ignored, as an EOF while reading the digest is.
func TestTxnTrailingBytes(t *testing.T) {
	for extra := 1; extra < 12; extra++ {
		in := append(ref(hdrR(wire.OpDelete), "/a"), make([]byte, extra)...)
		txn, err := wire.DecodeTxn(in)
		if err != nil || txn.Digest != nil {
			t.Fatalf("%d extra bytes: %v %v", extra, err, txn.Digest)
		}
	}
}

// TestTxnDecodeReuse decodes into a Txn that held a digest before.
func TestTxnDecodeReuse(t *testing.T) {
	txn := wire.Txn{Digest: &jute.TxnDigest{Version: 2, TreeDigest: 9}}
	d := jute.NewDecoder(ref(hdrR(wire.OpDelete), "/a"))
	txn.Decode(d)
	if d.Err() != nil || txn.Digest != nil {
		t.Fatalf("%v, stale digest %v", d.Err(), txn.Digest)
	}
	txn.Digest = &jute.TxnDigest{}
	d = jute.NewDecoder(ref(hdrR(wire.OpCreate), "/a", null{}, openACLR, false, int32(1)))
	txn.Decode(d)
	if d.Err() != nil || txn.Digest != nil {
		t.Fatalf("create: %v, stale digest %v", d.Err(), txn.Digest)
	}
}
