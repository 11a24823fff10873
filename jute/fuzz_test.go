package jute_test

import (
	"bytes"
	"hash/adler32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"zkd/jute"
)

// Record families as zookeeper.jute groups them. Fuzz inputs pick a
// record by their first byte.
var (
	dataRecords = []func() jute.Record{
		func() jute.Record { return &jute.Id{} },
		func() jute.Record { return &jute.ACL{} },
		func() jute.Record { return &jute.Stat{} },
		func() jute.Record { return &jute.StatPersisted{} },
		func() jute.Record { return &jute.ClientInfo{} },
	}
	protoRecords = []func() jute.Record{
		func() jute.Record { return &jute.ConnectRequest{} },
		func() jute.Record { return &jute.ConnectResponse{} },
		func() jute.Record { return &jute.SetWatches{} },
		func() jute.Record { return &jute.SetWatches2{} },
		func() jute.Record { return &jute.RequestHeader{} },
		func() jute.Record { return &jute.MultiHeader{} },
		func() jute.Record { return &jute.AuthPacket{} },
		func() jute.Record { return &jute.ReplyHeader{} },
		func() jute.Record { return &jute.GetDataRequest{} },
		func() jute.Record { return &jute.SetDataRequest{} },
		func() jute.Record { return &jute.ReconfigRequest{} },
		func() jute.Record { return &jute.SetDataResponse{} },
		func() jute.Record { return &jute.GetSASLRequest{} },
		func() jute.Record { return &jute.SetSASLRequest{} },
		func() jute.Record { return &jute.SetSASLResponse{} },
		func() jute.Record { return &jute.CreateRequest{} },
		func() jute.Record { return &jute.CreateTTLRequest{} },
		func() jute.Record { return &jute.DeleteRequest{} },
		func() jute.Record { return &jute.GetChildrenRequest{} },
		func() jute.Record { return &jute.GetAllChildrenNumberRequest{} },
		func() jute.Record { return &jute.GetChildren2Request{} },
		func() jute.Record { return &jute.CheckVersionRequest{} },
		func() jute.Record { return &jute.GetMaxChildrenRequest{} },
		func() jute.Record { return &jute.GetMaxChildrenResponse{} },
		func() jute.Record { return &jute.SetMaxChildrenRequest{} },
		func() jute.Record { return &jute.SyncRequest{} },
		func() jute.Record { return &jute.SyncResponse{} },
		func() jute.Record { return &jute.GetACLRequest{} },
		func() jute.Record { return &jute.SetACLRequest{} },
		func() jute.Record { return &jute.SetACLResponse{} },
		func() jute.Record { return &jute.AddWatchRequest{} },
		func() jute.Record { return &jute.WatcherEvent{} },
		func() jute.Record { return &jute.ErrorResponse{} },
		func() jute.Record { return &jute.CreateResponse{} },
		func() jute.Record { return &jute.Create2Response{} },
		func() jute.Record { return &jute.ExistsRequest{} },
		func() jute.Record { return &jute.ExistsResponse{} },
		func() jute.Record { return &jute.GetDataResponse{} },
		func() jute.Record { return &jute.GetChildrenResponse{} },
		func() jute.Record { return &jute.GetAllChildrenNumberResponse{} },
		func() jute.Record { return &jute.GetChildren2Response{} },
		func() jute.Record { return &jute.GetACLResponse{} },
		func() jute.Record { return &jute.CheckWatchesRequest{} },
		func() jute.Record { return &jute.RemoveWatchesRequest{} },
		func() jute.Record { return &jute.GetEphemeralsRequest{} },
		func() jute.Record { return &jute.GetEphemeralsResponse{} },
		func() jute.Record { return &jute.WhoAmIResponse{} },
	}
	txnRecords = []func() jute.Record{
		func() jute.Record { return &jute.TxnHeader{} },
		func() jute.Record { return &jute.TxnDigest{} },
		func() jute.Record { return &jute.CreateTxnV0{} },
		func() jute.Record { return &jute.CreateTxn{} },
		func() jute.Record { return &jute.CreateTTLTxn{} },
		func() jute.Record { return &jute.CreateContainerTxn{} },
		func() jute.Record { return &jute.DeleteTxn{} },
		func() jute.Record { return &jute.SetDataTxn{} },
		func() jute.Record { return &jute.CheckVersionTxn{} },
		func() jute.Record { return &jute.SetACLTxn{} },
		func() jute.Record { return &jute.SetMaxChildrenTxn{} },
		func() jute.Record { return &jute.CreateSessionTxn{} },
		func() jute.Record { return &jute.CloseSessionTxn{} },
		func() jute.Record { return &jute.ErrorTxn{} },
		func() jute.Record { return &jute.Txn{} },
		func() jute.Record { return &jute.MultiTxn{} },
	}
	quorumRecords = []func() jute.Record{
		func() jute.Record { return &jute.LearnerInfo{} },
		func() jute.Record { return &jute.QuorumPacket{} },
		func() jute.Record { return &jute.QuorumAuthPacket{} },
	}
	persistenceRecords = []func() jute.Record{
		func() jute.Record { return &jute.FileHeader{} },
	}
)

// seedFamily adds every record case of the family as a seed, prefixed by
// its index in the family, and the golden frames captured from
// go-zookeeper and ZooKeeper 3.8 (wire/testdata/golden) wherever a
// record of the family reads one exactly, after its header if any.
func seedFamily(f *testing.F, family []func() jute.Record) {
	for _, tc := range recordCases() {
		for i, mk := range family {
			if reflect.TypeOf(mk()) == reflect.TypeOf(tc.rec) {
				f.Add(append([]byte{byte(i)}, tc.want...))
			}
		}
	}
	golden, _ := filepath.Glob(filepath.Join("..", "wire", "testdata", "golden", "*", "*.bin"))
	for _, name := range golden {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, skip := range []int{0, 8, 16} {
			if skip > len(b) {
				continue
			}
			for i, mk := range family {
				if jute.UnmarshalExact(b[skip:], mk()) == nil {
					f.Add(append([]byte{byte(i)}, b[skip:]...))
				}
			}
		}
	}
	for i := range family {
		f.Add([]byte{byte(i), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		f.Add([]byte{byte(i), 0x7f, 0xff, 0xff, 0xff})
	}
}

// checkRecordDecode decodes in with the family record in[0] selects and
// checks that a decoded record re-encodes to exactly the bytes consumed
// and is stable under another round trip.
func checkRecordDecode(t *testing.T, family []func() jute.Record, in []byte) {
	if len(in) == 0 {
		return
	}
	mk := family[int(in[0])%len(family)]
	body := in[1:]
	r := mk()
	d := jute.NewDecoder(body)
	r.Decode(d)
	if d.Err() != nil {
		return
	}
	enc := jute.Marshal(r)
	if len(enc) != d.Offset() {
		t.Fatalf("%T: consumed %d bytes, re-encodes to %d", r, d.Offset(), len(enc))
	}
	r2 := mk()
	if err := jute.UnmarshalExact(enc, r2); err != nil {
		t.Fatalf("%T: re-decode: %v", r, err)
	}
	if !reflect.DeepEqual(r, r2) {
		t.Fatalf("%T: unstable round trip\n%#v\n%#v", r, r, r2)
	}
	if !bytes.Equal(jute.Marshal(r2), enc) {
		t.Fatalf("%T: re-encoding differs", r)
	}
}

func FuzzDataRecords(f *testing.F) {
	seedFamily(f, dataRecords)
	f.Fuzz(func(t *testing.T, in []byte) { checkRecordDecode(t, dataRecords, in) })
}

func FuzzProtoRecords(f *testing.F) {
	seedFamily(f, protoRecords)
	f.Fuzz(func(t *testing.T, in []byte) { checkRecordDecode(t, protoRecords, in) })
}

func FuzzTxnRecords(f *testing.F) {
	seedFamily(f, txnRecords)
	f.Fuzz(func(t *testing.T, in []byte) { checkRecordDecode(t, txnRecords, in) })
}

func FuzzQuorumRecords(f *testing.F) {
	seedFamily(f, quorumRecords)
	f.Fuzz(func(t *testing.T, in []byte) { checkRecordDecode(t, quorumRecords, in) })
}

func FuzzPersistenceRecords(f *testing.F) {
	seedFamily(f, persistenceRecords)
	f.Fuzz(func(t *testing.T, in []byte) { checkRecordDecode(t, persistenceRecords, in) })
}

// FuzzStream decodes a snapshot-like sequence of units through a Stream
// fed in random chunks, and compares the outcome with one Decoder over
// the whole input: the window must be invisible.
func FuzzStream(f *testing.F) {
	_, in := streamInput()
	f.Add(uint64(1), uint16(64), in[:4000])
	// A ZooKeeper 3.8 snapshot, after its file header.
	if b, err := os.ReadFile(filepath.Join("..", "server", "tree", "testdata", "zk38", "snapshot.1e")); err == nil && len(b) > 16 {
		f.Add(uint64(5), uint16(100), b[16:])
	}
	f.Add(uint64(2), uint16(1), ref("", []byte{}, int64(-1), make([]byte, 60), "/a", null{}, int64(1), make([]byte, 60), "/"))
	f.Add(uint64(3), uint16(7), ref("/x", int32(0x7fffffff)))
	f.Add(uint64(4), uint16(300), ref("/x", int32(-7)))
	f.Fuzz(func(t *testing.T, seed uint64, chunk uint16, in []byte) {
		type node struct {
			path string
			data []byte
			acl  int64
			stat jute.StatPersisted
		}
		unit := func(d *jute.Decoder, out *node, end *bool) {
			out.path = d.String()
			if out.path == "/" {
				*end = true
				return
			}
			out.data = d.Buffer()
			out.acl = d.Long()
			out.stat.Decode(d)
		}
		// Reference: one decoder over everything.
		var want []node
		var wantErr bool
		var wantOff int
		d := jute.NewDecoder(in)
		for {
			var n node
			var end bool
			unit(d, &n, &end)
			if d.Err() != nil {
				wantErr = true
				break
			}
			wantOff = d.Offset()
			if end {
				break
			}
			want = append(want, n)
		}
		const max = 1 << 20
		r := &chunkReader{b: in, rng: rand.New(rand.NewPCG(seed, 0)), max: int(chunk) + 1}
		s := jute.NewStream(r, max)
		h := adler32.New()
		s.Hash = h
		var got []node
		var err error
		for {
			var n node
			var end bool
			err = s.Decode(func(d *jute.Decoder) { unit(d, &n, &end) })
			if err != nil || end {
				break
			}
			got = append(got, n)
		}
		if (err != nil) != wantErr {
			t.Fatalf("stream error %v, decoder error %v", err, wantErr)
		}
		if !wantErr && len(in) == 0 && err != io.EOF {
			t.Fatalf("empty input: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stream decoded %d units, decoder %d", len(got), len(want))
		}
		if s.Consumed != int64(wantOff) {
			t.Fatalf("consumed %d, want %d", s.Consumed, wantOff)
		}
		if h.Sum32() != adler32.Checksum(in[:wantOff]) {
			t.Fatal("hash does not match the consumed bytes")
		}
	})
}
