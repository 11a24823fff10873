package load

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// fakeServer answers the client protocol just enough to drive a session:
// the handshake, pings, closeSession, and every other request through
// answer, which returns the reply's error code and body.
type fakeServer struct {
	l      net.Listener
	answer func(op wire.OpCode, body []byte) (wire.Error, []byte)
	// swap answers each pair of requests in reverse order.
	swap bool
	zxid atomic.Int64
}

func newFake(t *testing.T, answer func(wire.OpCode, []byte) (wire.Error, []byte)) *fakeServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{l: l, answer: answer}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeServer) Addr() string { return f.l.Addr().String() }

func frame(build func(e *jute.Encoder)) []byte {
	buf, off := wire.AppendFrameStart(nil)
	e := jute.NewEncoder(buf)
	build(e)
	buf = e.Bytes()
	wire.FinishFrame(buf, off)
	return buf
}

func (f *fakeServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	if _, err := readFrame(br, nil); err != nil {
		return
	}
	resp := jute.ConnectResponse{TimeOut: 30000, SessionID: 42, Passwd: make([]byte, 16)}
	if _, err := c.Write(frame(resp.Encode)); err != nil {
		return
	}
	var held []byte
	for {
		b, err := readFrame(br, nil)
		if err != nil {
			return
		}
		d := jute.NewDecoder(b)
		var h jute.RequestHeader
		h.Decode(d)
		code, body := wire.ErrOK, []byte(nil)
		switch wire.OpCode(h.Type) {
		case wire.OpPing, wire.OpCloseSession:
		default:
			code, body = f.answer(wire.OpCode(h.Type), d.Rest())
		}
		out := frame(func(e *jute.Encoder) {
			rh := jute.ReplyHeader{Xid: h.Xid, Zxid: f.zxid.Add(1), Err: int32(code)}
			rh.Encode(e)
			if code == wire.ErrOK {
				e.Raw(body)
			}
		})
		if f.swap && h.Xid > 0 && wire.OpCode(h.Type) != wire.OpCloseSession {
			if held == nil {
				held = out
				continue
			}
			out, held = append(out, held...), nil
		}
		if _, err := c.Write(out); err != nil {
			return
		}
		if wire.OpCode(h.Type) == wire.OpCloseSession {
			return
		}
	}
}

func getDataAnswer(size int) func(wire.OpCode, []byte) (wire.Error, []byte) {
	return func(op wire.OpCode, _ []byte) (wire.Error, []byte) {
		e := jute.NewEncoder(nil)
		e.Buffer(make([]byte, size))
		st := jute.Stat{DataLength: int32(size)}
		st.Encode(e)
		return wire.ErrOK, e.Bytes()
	}
}

func readAgainst(t *testing.T, f *fakeServer, size int) (*PipeStats, error) {
	t.Helper()
	s, err := Dial(f.Addr(), Options{MaxInFlight: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	p := Params{Keys: 10, ValueSize: size}
	win := Window{Start: mono(), End: mono() + int64(200*time.Millisecond)}
	return s.Pipeline(context.Background(), newKV(1, "/kv", p, 1), 16, win)
}

func TestPipelineCountsValidReplies(t *testing.T) {
	f := newFake(t, getDataAnswer(100))
	st, err := readAgainst(t, f, 100)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ops == 0 || st.Errors != 0 || st.Hist.Count() != st.Ops {
		t.Fatalf("ops %d errors %d recorded %d first %v", st.Ops, st.Errors, st.Hist.Count(), st.FirstErr)
	}
}

func TestPipelineCountsWrongBodiesAsErrors(t *testing.T) {
	f := newFake(t, getDataAnswer(99))
	st, err := readAgainst(t, f, 100)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ops != 0 || st.Errors == 0 || st.FirstErr == nil || !strings.Contains(st.FirstErr.Error(), "99 bytes") {
		t.Fatalf("ops %d errors %d first %v", st.Ops, st.Errors, st.FirstErr)
	}
}

func TestPipelineCountsErrorCodesAsErrors(t *testing.T) {
	f := newFake(t, func(wire.OpCode, []byte) (wire.Error, []byte) { return wire.ErrNoNode, nil })
	st, err := readAgainst(t, f, 100)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ops != 0 || st.Errors == 0 || !errors.Is(st.FirstErr, wire.ErrNoNode) {
		t.Fatalf("ops %d errors %d first %v", st.Ops, st.Errors, st.FirstErr)
	}
}

func TestOutOfOrderRepliesFailTheSession(t *testing.T) {
	f := newFake(t, getDataAnswer(100))
	f.swap = true
	_, err := readAgainst(t, f, 100)
	var pe *ProtocolError
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "expected") {
		t.Fatalf("got %v, want a protocol error about the xid", err)
	}
}

func TestCallAndClose(t *testing.T) {
	f := newFake(t, getDataAnswer(5))
	s, err := Dial(f.Addr(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != 42 || s.Negotiated != 30*time.Second {
		t.Errorf("session %d timeout %v", s.ID, s.Negotiated)
	}
	var resp jute.GetDataResponse
	if err := s.Do(wire.OpGetData, &jute.GetDataRequest{Path: "/x"}, &resp); err != nil || len(resp.Data) != 5 {
		t.Fatalf("getData: %v %d", err, len(resp.Data))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}
