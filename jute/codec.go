// Package jute is ZooKeeper's binary record codec (BinaryOutputArchive /
// BinaryInputArchive) and the records of zookeeper.jute.
//
// Everything is big-endian. ustring, buffer and vector carry an int length
// with -1 meaning null. Nested records have no framing of their own.
package jute

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Record is a jute record: a fixed sequence of fields.
type Record interface {
	Encode(e *Encoder)
	Decode(d *Decoder)
}

// ErrShort is returned when the input ends inside a field.
var ErrShort = errors.New("jute: input too short")

// Encoder appends jute-encoded values to a byte slice. The zero value is
// ready to use; Reset reuses the backing array.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an Encoder appending to buf[:len(buf)].
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Bytes returns everything encoded so far.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len is the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset empties the encoder, keeping its storage.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// SetBytes replaces the encoder's buffer, so callers can append into a
// slice they own.
func (e *Encoder) SetBytes(b []byte) { e.buf = b }

func (e *Encoder) Byte(v byte) { e.buf = append(e.buf, v) }

func (e *Encoder) Bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

func (e *Encoder) Int(v int32) { e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(v)) }

func (e *Encoder) Long(v int64) { e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(v)) }

// String writes a non-null ustring.
func (e *Encoder) String(s string) {
	e.Int(int32(len(s)))
	e.buf = append(e.buf, s...)
}

// NullString writes a null ustring (length -1).
func (e *Encoder) NullString() { e.Int(-1) }

// NullableString writes s, or a null ustring when null is set (s is then
// ignored). It is the inverse of Decoder.NullableString.
func (e *Encoder) NullableString(s string, null bool) {
	if null {
		e.NullString()
		return
	}
	e.String(s)
}

// Buffer writes a buffer; a nil slice is written as null.
func (e *Encoder) Buffer(b []byte) {
	if b == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(b)))
	e.buf = append(e.buf, b...)
}

// Raw appends bytes with no length prefix.
func (e *Encoder) Raw(b []byte) { e.buf = append(e.buf, b...) }

// VectorLen writes a vector's count; a nil vector is written as null.
func (e *Encoder) VectorLen(n int, isNil bool) {
	if isNil {
		e.Int(-1)
		return
	}
	e.Int(int32(n))
}

// Strings writes a vector<ustring>; nil is null.
func (e *Encoder) Strings(v []string) {
	e.VectorLen(len(v), v == nil)
	for _, s := range v {
		e.String(s)
	}
}

// Record writes a nested record.
func (e *Encoder) Record(r Record) { r.Encode(e) }

// PutInt overwrites 4 bytes at off, for length prefixes written after the
// fact.
func (e *Encoder) PutInt(off int, v int32) {
	binary.BigEndian.PutUint32(e.buf[off:], uint32(v))
}

// Decoder reads jute values from a byte slice. Errors are sticky: after the
// first failure every read returns a zero value and Err reports the cause,
// so record decoders need no per-field checks.
type Decoder struct {
	buf []byte
	off int
	err error
}

// NewDecoder returns a Decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Reset points the decoder at b and clears any error.
func (d *Decoder) Reset(b []byte) { d.buf, d.off, d.err = b, 0, nil }

// Err is the first error met, if any.
func (d *Decoder) Err() error { return d.err }

// Offset is the number of bytes consumed.
func (d *Decoder) Offset() int { return d.off }

// Remaining is the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Rest returns the unread bytes without consuming them.
func (d *Decoder) Rest() []byte { return d.buf[d.off:] }

// Skip consumes n bytes.
func (d *Decoder) Skip(n int) { d.take(n) }

// Fail records err unless an error is already recorded.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.buf)-d.off {
		d.err = ErrShort
		d.off = len(d.buf)
		return nil
	}
	b := d.buf[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

func (d *Decoder) Byte() byte {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool reads a boolean; any non-zero byte is true, as Java reads it.
func (d *Decoder) Bool() bool { return d.Byte() != 0 }

func (d *Decoder) Int() int32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

func (d *Decoder) Long() int64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// length reads a ustring/buffer length. It returns -1 for null.
func (d *Decoder) length() int {
	n := d.Int()
	if d.err != nil {
		return -1
	}
	if n < -1 {
		d.err = fmt.Errorf("jute: negative length %d", n)
		return -1
	}
	if int(n) > len(d.buf)-d.off {
		d.err = ErrShort
		d.off = len(d.buf)
		return -1
	}
	return int(n)
}

// String reads a ustring; null reads as "".
func (d *Decoder) String() string {
	n := d.length()
	if n <= 0 {
		return ""
	}
	return string(d.take(n))
}

// NullableString reads a ustring and reports whether it was null (then
// s is ""), for the few fields where ZooKeeper tells null from empty.
func (d *Decoder) NullableString() (s string, null bool) {
	n := d.length()
	if n < 0 {
		return "", d.err == nil
	}
	if n == 0 {
		return "", false
	}
	return string(d.take(n)), false
}

// StringBytes reads a ustring without copying: the result aliases the
// input and is only valid while it is. Null reads as nil.
func (d *Decoder) StringBytes() []byte {
	n := d.length()
	if n < 0 {
		return nil
	}
	return d.take(n)
}

// Buffer reads a buffer into a fresh slice; null reads as nil, empty as a
// non-nil empty slice.
func (d *Decoder) Buffer() []byte {
	n := d.length()
	if n < 0 {
		return nil
	}
	b := d.take(n)
	if b == nil {
		return nil
	}
	out := make([]byte, n)
	copy(out, b)
	return out
}

// BufferAlias reads a buffer without copying; see StringBytes.
func (d *Decoder) BufferAlias() []byte {
	n := d.length()
	if n < 0 {
		return nil
	}
	return d.take(n)
}

// VectorLen reads a vector count. It returns -1 for null. minElem is the
// smallest encoded size of one element, used to refuse counts the input
// cannot hold before anything is allocated.
func (d *Decoder) VectorLen(minElem int) int {
	n := d.Int()
	if d.err != nil {
		return -1
	}
	if n < -1 {
		d.err = fmt.Errorf("jute: negative vector count %d", n)
		return -1
	}
	if minElem < 1 {
		minElem = 1
	}
	if n > 0 && int(n) > (len(d.buf)-d.off)/minElem {
		d.err = ErrShort
		d.off = len(d.buf)
		return -1
	}
	return int(n)
}

// Strings reads a vector<ustring>; null reads as nil.
func (d *Decoder) Strings() []string {
	n := d.VectorLen(4)
	if n < 0 {
		return nil
	}
	v := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		v = append(v, d.String())
	}
	return v
}

// Record reads a nested record.
func (d *Decoder) Record(r Record) { r.Decode(d) }

// Marshal encodes r into a new slice.
func Marshal(r Record) []byte {
	var e Encoder
	r.Encode(&e)
	return e.buf
}

// Unmarshal decodes r from b. Trailing bytes are allowed, as Java's
// archives allow them.
func Unmarshal(b []byte, r Record) error {
	d := Decoder{buf: b}
	r.Decode(&d)
	return d.err
}

// UnmarshalExact decodes r from b and fails if bytes are left over.
func UnmarshalExact(b []byte, r Record) error {
	d := Decoder{buf: b}
	r.Decode(&d)
	if d.err != nil {
		return d.err
	}
	if d.off != len(b) {
		return fmt.Errorf("jute: %d trailing bytes", len(b)-d.off)
	}
	return nil
}
