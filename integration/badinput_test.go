package integration

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkd/jute"
	"zkd/wire"
)

// TestBadInput sends malformed input on fresh connections while a healthy
// session keeps working: each bad connection gets an error or is closed,
// the server logs it and stays up.
func TestBadInput(t *testing.T) {
	p := startZkd(t, nil)
	good, _, err := zk.Connect([]string{p.Addr}, 5*time.Second, zk.WithLogger(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if _, err := good.Create("/healthy", []byte("ok"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	checkHealthy := func(t *testing.T) {
		t.Helper()
		d, _, err := good.Get("/healthy")
		if err != nil || string(d) != "ok" {
			t.Fatalf("healthy session broken: %q %v", d, err)
		}
		if p.Exited() {
			t.Fatal("zkd exited")
		}
	}

	cases := []struct {
		name string
		run  func(t *testing.T, r *rawConn)
		log  string // expected in the server log
	}{
		{"garbage bytes", func(t *testing.T, r *rawConn) {
			_, _ = r.c.Write([]byte("\xde\xad\xbe\xef garbage that is not a frame at all"))
			if !r.closed(3 * time.Second) {
				t.Fatal("connection not closed")
			}
		}, "bad frame length"},
		{"length 2^31-1", func(t *testing.T, r *rawConn) {
			_, _ = r.c.Write(binary.BigEndian.AppendUint32(nil, math.MaxInt32))
			if !r.closed(3 * time.Second) {
				t.Fatal("connection not closed")
			}
		}, "jute.maxbuffer"},
		{"length past jute.maxbuffer after handshake", func(t *testing.T, r *rawConn) {
			r.connect(5000)
			_, _ = r.c.Write(binary.BigEndian.AppendUint32(nil, wire.DefaultMaxBuffer+1))
			if !r.closed(3 * time.Second) {
				t.Fatal("connection not closed")
			}
		}, "jute.maxbuffer"},
		{"truncated frame then hang up", func(t *testing.T, r *rawConn) {
			r.connect(5000)
			b := binary.BigEndian.AppendUint32(nil, 100)
			_, _ = r.c.Write(append(b, 1, 2, 3))
			r.c.Close()
		}, ""},
		{"unknown opcode", func(t *testing.T, r *rawConn) {
			r.connect(5000)
			h, _ := r.request(wire.OpCode(999), nil)
			if wire.Error(h.Err) != wire.ErrUnimplemented {
				t.Fatalf("err = %d, want UNIMPLEMENTED", h.Err)
			}
			if !r.closed(3 * time.Second) {
				t.Fatal("connection not closed after UNIMPLEMENTED")
			}
		}, "unknown or unimplemented request type"},
		{"request before handshake", func(t *testing.T, r *rawConn) {
			var e jute.Encoder
			h := jute.RequestHeader{Xid: 1, Type: int32(wire.OpGetData)}
			h.Encode(&e)
			(&jute.GetDataRequest{Path: "/healthy"}).Encode(&e)
			r.sendBytes(e.Bytes())
			if !r.closed(3 * time.Second) {
				t.Fatal("connection not closed")
			}
		}, "malformed ConnectRequest"},
		{"malformed request body", func(t *testing.T, r *rawConn) {
			r.connect(5000)
			var e jute.Encoder
			h := jute.RequestHeader{Xid: 1, Type: int32(wire.OpCreate)}
			h.Encode(&e)
			e.Int(1 << 20) // a path length far past the frame
			r.sendBytes(e.Bytes())
			b := r.readFrame()
			var rh jute.ReplyHeader
			if err := jute.Unmarshal(b, &rh); err != nil || wire.Error(rh.Err) != wire.ErrMarshallingError {
				t.Fatalf("reply %+v %v, want MARSHALLINGERROR", rh, err)
			}
		}, "malformed request"},
		{"request header cut short", func(t *testing.T, r *rawConn) {
			r.connect(5000)
			r.sendBytes([]byte{0, 0, 0, 1})
			if !r.closed(3 * time.Second) {
				t.Fatal("connection not closed")
			}
		}, "request shorter than its header"},
		{"malformed ConnectRequest", func(t *testing.T, r *rawConn) {
			r.sendBytes([]byte{0, 0, 0, 0, 1})
			if !r.closed(3 * time.Second) {
				t.Fatal("connection not closed")
			}
		}, "malformed ConnectRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, p.Addr)
			tc.run(t, r)
			checkHealthy(t)
			if tc.log != "" {
				deadline := time.Now().Add(2 * time.Second)
				for !strings.Contains(p.Log.String(), tc.log) {
					if time.Now().After(deadline) {
						t.Fatalf("server log lacks %q", tc.log)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
}

// discard silences go-zookeeper's logger.
type discard struct{}

func (discard) Printf(string, ...any) {}
