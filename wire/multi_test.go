package wire_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

// null is a null ustring, buffer or vector in a ref layout.
type null struct{}

// raw is bytes copied as they are, with no length prefix.
type raw []byte

// ref encodes fields by the spec's layout rules, independently of jute.
func ref(fields ...any) []byte {
	var b []byte
	for _, f := range fields {
		switch v := f.(type) {
		case int32:
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		case int64:
			b = binary.BigEndian.AppendUint64(b, uint64(v))
		case bool:
			if v {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case string:
			b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		case []byte:
			if v == nil {
				b = binary.BigEndian.AppendUint32(b, 0xffffffff)
				continue
			}
			b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		case null:
			b = binary.BigEndian.AppendUint32(b, 0xffffffff)
		case raw:
			b = append(b, v...)
		case []any:
			b = append(b, ref(v...)...)
		default:
			panic(fmt.Sprintf("ref: unsupported %T", f))
		}
	}
	return b
}

var (
	openACL  = []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	openACLR = []any{int32(1), int32(31), "world", "anyone"}
	stat1    = jute.Stat{Czxid: 1, Mzxid: 2, Ctime: 3, Mtime: 4, Version: 5, Cversion: 6, Aversion: 7,
		EphemeralOwner: 8, DataLength: 9, NumChildren: 10, Pzxid: 11}
	stat1R = []any{int64(1), int64(2), int64(3), int64(4), int32(5), int32(6), int32(7), int64(8), int32(9), int32(10), int64(11)}
	endR   = []any{int32(-1), true, int32(-1)}
)

func mh(typ int32, err int32) []any { return []any{typ, false, err} }

func TestMultiRequestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		req  wire.MultiRequest
		want []byte
	}{
		{"empty", wire.MultiRequest{}, ref(endR)},
		{"every write op", wire.MultiRequest{Ops: []wire.MultiOp{
			{Type: wire.OpCreate, Record: &jute.CreateRequest{Path: "/a", Data: []byte("x"), ACL: openACL, Flags: 0}},
			{Type: wire.OpCreate2, Record: &jute.CreateRequest{Path: "/b", Data: nil, ACL: openACL, Flags: 2}},
			{Type: wire.OpCreateContainer, Record: &jute.CreateRequest{Path: "/c", Data: []byte{}, ACL: openACL, Flags: 4}},
			{Type: wire.OpCreateTTL, Record: &jute.CreateTTLRequest{Path: "/t", ACL: openACL, Flags: 5, TTL: 1000}},
			{Type: wire.OpDelete, Record: &jute.DeleteRequest{Path: "/a", Version: -1}},
			{Type: wire.OpSetData, Record: &jute.SetDataRequest{Path: "/b", Data: []byte("y"), Version: 0}},
			{Type: wire.OpCheck, Record: &jute.CheckVersionRequest{Path: "/b", Version: 1}},
		}}, ref(
			mh(1, -1), "/a", []byte("x"), openACLR, int32(0),
			mh(15, -1), "/b", null{}, openACLR, int32(2),
			mh(19, -1), "/c", []byte{}, openACLR, int32(4),
			mh(21, -1), "/t", null{}, openACLR, int32(5), int64(1000),
			mh(2, -1), "/a", int32(-1),
			mh(5, -1), "/b", []byte("y"), int32(0),
			mh(13, -1), "/b", int32(1),
			endR)},
		{"read ops", wire.MultiRequest{Ops: []wire.MultiOp{
			{Type: wire.OpGetChildren, Record: &jute.GetChildrenRequest{Path: "/"}},
			{Type: wire.OpGetData, Record: &jute.GetDataRequest{Path: "/a", Watch: true}},
		}}, ref(mh(8, -1), "/", false, mh(4, -1), "/a", true, endR)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := jute.Marshal(&tc.req)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("encode:\n got %x\nwant %x", got, tc.want)
			}
			var back wire.MultiRequest
			if err := jute.UnmarshalExact(tc.want, &back); err != nil {
				t.Fatal(err)
			}
			if len(back.Ops) != len(tc.req.Ops) {
				t.Fatalf("%d ops, want %d", len(back.Ops), len(tc.req.Ops))
			}
			for i := range back.Ops {
				if !reflect.DeepEqual(back.Ops[i], tc.req.Ops[i]) {
					t.Fatalf("op %d: %#v, want %#v", i, back.Ops[i], tc.req.Ops[i])
				}
			}
			// Decoding into a used record forgets the old ops.
			back.Ops = append(back.Ops, wire.MultiOp{Type: wire.OpDelete, Record: &jute.DeleteRequest{}})
			if err := jute.UnmarshalExact(tc.want, &back); err != nil || len(back.Ops) != len(tc.req.Ops) {
				t.Fatalf("reuse: %v, %d ops", err, len(back.Ops))
			}
		})
	}
}

func TestMultiRequestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty input", nil},
		{"no terminator", ref(mh(2, -1), "/a", int32(-1))},
		{"truncated op", ref(mh(2, -1), "/a")},
		{"truncated terminator", ref(int32(-1), true)},
		{"exists is not a multi op", ref(mh(3, -1), "/a", false, endR)},
		{"setACL is not a multi op", ref(mh(7, -1), "/a", openACLR, int32(0), endR)},
		{"multi inside multi", ref(mh(14, -1), endR, endR)},
		{"unknown op", ref(mh(99, -1), endR)},
		{"error op", ref(mh(-1, -1), int32(0), endR)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r wire.MultiRequest
			if err := jute.Unmarshal(tc.in, &r); err == nil {
				t.Fatalf("decoded: %#v", r.Ops)
			}
		})
	}
	// The terminator is recognised by done=true whatever its type, as
	// MultiOperationRecord.deserialize does.
	var r wire.MultiRequest
	if err := jute.UnmarshalExact(ref(int32(5), true, int32(0)), &r); err != nil || len(r.Ops) != 0 {
		t.Fatalf("done header: %v %d", err, len(r.Ops))
	}
}

func TestMultiResponseRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		resp wire.MultiResponse
		want []byte
	}{
		{"empty", wire.MultiResponse{}, ref(endR)},
		{"every result type", wire.MultiResponse{Results: []wire.MultiResult{
			{Type: wire.OpCreate, Record: &jute.CreateResponse{Path: "/a"}},
			{Type: wire.OpCreate2, Record: &jute.Create2Response{Path: "/b0000000001", Stat: stat1}},
			{Type: wire.OpDelete},
			{Type: wire.OpCheck},
			{Type: wire.OpSetData, Record: &jute.SetDataResponse{Stat: stat1}},
			{Type: wire.OpGetChildren, Record: &jute.GetChildrenResponse{Children: []string{"x", "y"}}},
			{Type: wire.OpGetData, Record: &jute.GetDataResponse{Data: []byte("d"), Stat: stat1}},
			{Type: wire.OpError, Err: wire.ErrNoNode},
		}}, ref(
			mh(1, 0), "/a",
			mh(15, 0), "/b0000000001", stat1R,
			mh(2, 0),
			mh(13, 0),
			mh(5, 0), stat1R,
			mh(8, 0), int32(2), "x", "y",
			mh(4, 0), []byte("d"), stat1R,
			mh(-1, -101), int32(-101),
			endR)},
		// A failed write multi (§3.6): ops before the failure read OK, the
		// failing op its code, the ops after it RUNTIMEINCONSISTENCY.
		{"failed multi", wire.MultiResponse{Results: []wire.MultiResult{
			{Type: wire.OpError, Err: wire.ErrOK},
			{Type: wire.OpError, Err: wire.ErrNodeExists},
			{Type: wire.OpError, Err: wire.ErrRuntimeInconsistency},
		}}, ref(mh(-1, 0), int32(0), mh(-1, -110), int32(-110), mh(-1, -2), int32(-2), endR)},
		{"multiRead with a failed read", wire.MultiResponse{Results: []wire.MultiResult{
			{Type: wire.OpGetData, Record: &jute.GetDataResponse{Data: nil, Stat: stat1}},
			{Type: wire.OpError, Err: wire.ErrNoNode},
			{Type: wire.OpGetChildren, Record: &jute.GetChildrenResponse{Children: []string{}}},
		}}, ref(mh(4, 0), null{}, stat1R, mh(-1, -101), int32(-101), mh(8, 0), int32(0), endR)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := jute.Marshal(&tc.resp)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("encode:\n got %x\nwant %x", got, tc.want)
			}
			var back wire.MultiResponse
			if err := jute.UnmarshalExact(tc.want, &back); err != nil {
				t.Fatal(err)
			}
			if len(back.Results) != len(tc.resp.Results) {
				t.Fatalf("%d results", len(back.Results))
			}
			for i := range back.Results {
				if !reflect.DeepEqual(back.Results[i], tc.resp.Results[i]) {
					t.Fatalf("result %d: %#v, want %#v", i, back.Results[i], tc.resp.Results[i])
				}
			}
		})
	}
}

// TestMultiResponseHeaderErr: the header err of a non-error result is 0
// even if the result carries an Err, as MultiResponse.serialize writes it.
func TestMultiResponseHeaderErr(t *testing.T) {
	r := wire.MultiResponse{Results: []wire.MultiResult{{Type: wire.OpDelete, Err: wire.ErrNoNode}}}
	if got, want := jute.Marshal(&r), ref(mh(2, 0), endR); !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
}

// TestMultiResponseCreateResultTypes: Java's MultiResponse.deserialize
// knows result types 1, 15, 2, 13, 5, 8, 4 and -1 only; createTTL and
// createContainer results travel as create2 (15). zkd's decoder is more
// lenient and accepts 19 and 21 with a Create2Response body.
func TestMultiResponseCreateResultTypes(t *testing.T) {
	for _, typ := range []int32{19, 21} {
		in := ref(mh(typ, 0), "/c", stat1R, endR)
		var r wire.MultiResponse
		if err := jute.UnmarshalExact(in, &r); err != nil {
			t.Fatalf("type %d: %v", typ, err)
		}
		if _, ok := r.Results[0].Record.(*jute.Create2Response); !ok {
			t.Fatalf("type %d: %T", typ, r.Results[0].Record)
		}
	}
}

func TestMultiResponseDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty input", nil},
		{"no terminator", ref(mh(2, 0))},
		{"truncated create", ref(mh(1, 0), int32(5), "ab")},
		{"truncated stat", ref(mh(5, 0), int64(1))},
		{"truncated error", ref(mh(-1, -101), int32(0))[:11]},
		{"unknown result type", ref(mh(3, 0), stat1R, endR)},
		{"multi result", ref(mh(14, 0), endR)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r wire.MultiResponse
			if err := jute.Unmarshal(tc.in, &r); err == nil {
				t.Fatalf("decoded %#v", r.Results)
			}
		})
	}
}
