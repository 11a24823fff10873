package compat

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// maxFrame bounds the frames the raw client accepts from a server.
const maxFrame = 16 << 20

// rawConn is one TCP connection speaking ZooKeeper's framing: 4-byte
// big-endian length + payload. Every read and write carries a deadline.
type rawConn struct {
	nc net.Conn
	rd *bufio.Reader
}

func dialRaw(addr string, timeout time.Duration) (*rawConn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &rawConn{nc: nc, rd: bufio.NewReader(nc)}, nil
}

// writeFrame sends one length-prefixed frame.
func (c *rawConn) writeFrame(payload []byte, timeout time.Duration) error {
	buf := make([]byte, 4, 4+len(payload))
	binary.BigEndian.PutUint32(buf, uint32(len(payload)))
	buf = append(buf, payload...)
	return c.writeRaw(buf, timeout)
}

// writeRaw sends bytes with no framing.
func (c *rawConn) writeRaw(b []byte, timeout time.Duration) error {
	if err := c.nc.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := c.nc.Write(b)
	return err
}

// readFrame reads one frame, waiting at most timeout for all of it.
func (c *rawConn) readFrame(timeout time.Duration) ([]byte, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c.rd, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 0 || n > maxFrame {
		return nil, fmt.Errorf("frame length %d out of range", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.rd, b); err != nil {
		return nil, fmt.Errorf("frame of %d bytes cut short: %w", n, err)
	}
	return b, nil
}

func (c *rawConn) close() {
	if c != nil {
		c.nc.Close()
	}
}

// connErrString renders a read error as transcript text.
func connErrString(err error) string {
	switch {
	case isClosedErr(err) || errors.Is(err, io.ErrUnexpectedEOF):
		return "<connection closed>"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "<timeout>"
	}
	return "<error: " + err.Error() + ">"
}

// encodeRequest builds RequestHeader + record.
func encodeRequest(xid int32, op wire.OpCode, rec jute.Record) []byte {
	var e jute.Encoder
	h := jute.RequestHeader{Xid: xid, Type: int32(op)}
	h.Encode(&e)
	if rec != nil {
		rec.Encode(&e)
	}
	return e.Bytes()
}

// rawRecord is a request body given as bytes, for malformed or unusual
// encodings (a null string, an unknown opcode's body).
type rawRecord []byte

func (r rawRecord) Encode(e *jute.Encoder) { e.Raw(r) }
func (r rawRecord) Decode(d *jute.Decoder) {}

// nullStringRecord encodes a single null ustring (length -1).
type nullStringRecord struct{}

func (nullStringRecord) Encode(e *jute.Encoder) { e.NullString() }
func (nullStringRecord) Decode(d *jute.Decoder) {}

// responseRecord is the record a successful reply to op carries, or nil
// when the reply has no body.
func responseRecord(op wire.OpCode) jute.Record {
	switch op {
	case wire.OpCreate:
		return &jute.CreateResponse{}
	case wire.OpCreate2, wire.OpCreateContainer, wire.OpCreateTTL:
		return &jute.Create2Response{}
	case wire.OpExists:
		return &jute.ExistsResponse{}
	case wire.OpGetData:
		return &jute.GetDataResponse{}
	case wire.OpSetData, wire.OpCheck:
		return &jute.SetDataResponse{}
	case wire.OpGetACL:
		return &jute.GetACLResponse{}
	case wire.OpSetACL:
		return &jute.SetACLResponse{}
	case wire.OpGetChildren:
		return &jute.GetChildrenResponse{}
	case wire.OpGetChildren2:
		return &jute.GetChildren2Response{}
	case wire.OpSync:
		return &jute.SyncResponse{}
	case wire.OpMulti, wire.OpMultiRead:
		return &wire.MultiResponse{}
	case wire.OpGetEphemerals:
		return &jute.GetEphemeralsResponse{}
	case wire.OpGetAllChildrenNumber:
		return &jute.GetAllChildrenNumberResponse{}
	case wire.OpAddWatch:
		return &jute.ErrorResponse{}
	case wire.OpWhoAmI:
		return &jute.WhoAmIResponse{}
	case wire.OpSASL:
		return &jute.SetSASLResponse{}
	}
	return nil
}
