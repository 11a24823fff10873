package wire_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

// goldenFiles returns the stored golden frames of a directory.
func goldenFiles(f *testing.F, dir string) map[string][]byte {
	out := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", dir, "*.bin"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".bin")] = b
	}
	return out
}

func FuzzNextFrame(f *testing.F) {
	for _, b := range goldenFiles(f, "gozk") {
		f.Add(append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...), uint32(wire.DefaultMaxBuffer))
	}
	f.Add([]byte{0, 0, 0, 0}, uint32(0))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1}, uint32(0x7fffffff))
	f.Add([]byte{0xff, 0xf4, 0xff, 0xfd}, uint32(16))
	f.Add([]byte("ruok"), uint32(wire.DefaultMaxBuffer))
	f.Fuzz(func(t *testing.T, in []byte, max uint32) {
		m := int(max & 0x7fffffff)
		payload, n, err := wire.NextFrame(in, m)
		if err != nil {
			if n != 0 || payload != nil {
				t.Fatal("error with a frame")
			}
			l := int64(int32(binary.BigEndian.Uint32(in)))
			if l >= 0 && l <= int64(m) {
				t.Fatalf("length %d refused with max %d", l, m)
			}
			return
		}
		if n == 0 {
			if payload != nil {
				t.Fatal("payload without a frame")
			}
			if len(in) >= 4 {
				l := int(binary.BigEndian.Uint32(in))
				if len(in) >= 4+l {
					t.Fatalf("complete frame of %d not returned", l)
				}
			}
			return
		}
		if n != 4+len(payload) || n > len(in) || len(payload) > m || !bytes.Equal(payload, in[4:n]) {
			t.Fatalf("n %d payload %d in %d max %d", n, len(payload), len(in), m)
		}
	})
}

// FuzzRequest decodes a client frame as the server does: RequestHeader,
// then the body record its opcode selects.
func FuzzRequest(f *testing.F) {
	for _, b := range goldenFiles(f, "gozk") {
		f.Add(b)
	}
	for _, tc := range opTable {
		f.Add(ref(int32(1), tc.code))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := jute.NewDecoder(in)
		var h jute.RequestHeader
		h.Decode(d)
		if d.Err() != nil {
			return
		}
		rec, ok := wire.RequestRecord(wire.OpCode(h.Type))
		if !ok || rec == nil {
			return
		}
		body := d.Rest()
		if err := jute.Unmarshal(body, rec); err != nil {
			return
		}
		checkStable(t, rec, len(body))
	})
}

// checkStable re-encodes a decoded record: at most as long as the input
// it came from, and stable under another decode/encode.
func checkStable(t *testing.T, rec jute.Record, inLen int) {
	t.Helper()
	enc := jute.Marshal(rec)
	if len(enc) > inLen {
		t.Fatalf("%T re-encodes to %d bytes from %d", rec, len(enc), inLen)
	}
	again := reflect.New(reflect.TypeOf(rec).Elem()).Interface().(jute.Record)
	if err := jute.UnmarshalExact(enc, again); err != nil {
		t.Fatalf("%T: re-decode: %v", rec, err)
	}
	if !bytes.Equal(jute.Marshal(again), enc) {
		t.Fatalf("%T: unstable encoding", rec)
	}
}

func FuzzMultiRequest(f *testing.F) {
	for name, b := range goldenFiles(f, "gozk") {
		if strings.HasPrefix(name, "multi") {
			f.Add(b[8:])
		}
	}
	f.Add(ref(endR))
	f.Add(ref(mh(8, -1), "/", false, mh(4, -1), "/a", true, endR))
	f.Add(ref(mh(21, -1), "/t", null{}, openACLR, int32(5), int64(1000), endR))
	f.Fuzz(func(t *testing.T, in []byte) {
		var r wire.MultiRequest
		d := jute.NewDecoder(in)
		r.Decode(d)
		if d.Err() != nil {
			return
		}
		if len(r.Ops) > len(in)/9 {
			t.Fatalf("%d ops from %d bytes", len(r.Ops), len(in))
		}
		checkStable(t, &r, d.Offset())
	})
}

func FuzzMultiResponse(f *testing.F) {
	for name, b := range goldenFiles(f, "zk38") {
		if strings.HasPrefix(name, "multi") {
			f.Add(b[16:])
		}
	}
	f.Add(ref(endR))
	f.Add(ref(mh(-1, 0), int32(0), mh(-1, -110), int32(-110), mh(-1, -2), int32(-2), endR))
	f.Add(ref(mh(15, 0), "/b", stat1R, mh(19, 0), "/c", stat1R, endR))
	f.Fuzz(func(t *testing.T, in []byte) {
		var r wire.MultiResponse
		d := jute.NewDecoder(in)
		r.Decode(d)
		if d.Err() != nil {
			return
		}
		if len(r.Results) > len(in)/9 {
			t.Fatalf("%d results from %d bytes", len(r.Results), len(in))
		}
		checkStable(t, &r, d.Offset())
	})
}

func FuzzDecodeTxn(f *testing.F) {
	for _, tc := range txnCases() {
		f.Add(ref(hdrR(tc.txn.Type()), raw(tc.body)))
		f.Add(ref(hdrR(tc.txn.Type()), raw(tc.body), digestR))
	}
	f.Add(ref(hdrR(wire.OpCloseSession)))
	f.Add(ref(hdrR(wire.OpCreate), "/old", []byte("d"), openACLR, true))
	// Txn entries from a ZooKeeper 3.8 log.
	if b, err := os.ReadFile(filepath.Join("..", "server", "tree", "testdata", "zk38", "txns.bin")); err == nil {
		d := jute.NewDecoder(b)
		for d.Remaining() > 0 && d.Err() == nil {
			f.Add(d.Buffer())
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		txn, err := wire.DecodeTxn(in)
		if err != nil {
			return
		}
		enc := jute.Marshal(&txn)
		// The V0 create gains parentCVersion: 4 bytes at most. An empty
		// closeSession stays empty.
		if len(enc) > len(in)+4 {
			t.Fatalf("txn type %d re-encodes to %d bytes from %d", txn.Type(), len(enc), len(in))
		}
		again, err := wire.DecodeTxn(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if enc2 := jute.Marshal(&again); !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding\n%x\n%x", enc, enc2)
		}
		if (again.Digest == nil) != (txn.Digest == nil) {
			t.Fatal("digest lost or gained")
		}
	})
}
