package jute_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"

	"zkd/jute"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestEncoderPrimitives(t *testing.T) {
	tests := []struct {
		name string
		enc  func(e *jute.Encoder)
		want string
	}{
		{"byte", func(e *jute.Encoder) { e.Byte(0xab) }, "ab"},
		{"bool true", func(e *jute.Encoder) { e.Bool(true) }, "01"},
		{"bool false", func(e *jute.Encoder) { e.Bool(false) }, "00"},
		{"int", func(e *jute.Encoder) { e.Int(0x01020304) }, "01020304"},
		{"int -1", func(e *jute.Encoder) { e.Int(-1) }, "ffffffff"},
		{"int min", func(e *jute.Encoder) { e.Int(-1 << 31) }, "80000000"},
		{"long", func(e *jute.Encoder) { e.Long(0x0102030405060708) }, "0102030405060708"},
		{"long -2", func(e *jute.Encoder) { e.Long(-2) }, "fffffffffffffffe"},
		{"string", func(e *jute.Encoder) { e.String("/ab") }, "00000003 2f6162"},
		{"empty string", func(e *jute.Encoder) { e.String("") }, "00000000"},
		{"null string", func(e *jute.Encoder) { e.NullString() }, "ffffffff"},
		{"nullable string", func(e *jute.Encoder) { e.NullableString("/ab", false) }, "00000003 2f6162"},
		{"nullable empty string", func(e *jute.Encoder) { e.NullableString("", false) }, "00000000"},
		{"nullable null string", func(e *jute.Encoder) { e.NullableString("ignored", true) }, "ffffffff"},
		{"utf8 string", func(e *jute.Encoder) { e.String("é") }, "00000002 c3a9"},
		{"buffer", func(e *jute.Encoder) { e.Buffer([]byte{1, 2}) }, "00000002 0102"},
		{"empty buffer", func(e *jute.Encoder) { e.Buffer([]byte{}) }, "00000000"},
		{"null buffer", func(e *jute.Encoder) { e.Buffer(nil) }, "ffffffff"},
		{"raw", func(e *jute.Encoder) { e.Raw([]byte{9, 8}) }, "0908"},
		{"strings", func(e *jute.Encoder) { e.Strings([]string{"a", ""}) }, "00000002 00000001 61 00000000"},
		{"empty strings", func(e *jute.Encoder) { e.Strings([]string{}) }, "00000000"},
		{"null strings", func(e *jute.Encoder) { e.Strings(nil) }, "ffffffff"},
		{"vector len", func(e *jute.Encoder) { e.VectorLen(3, false) }, "00000003"},
		{"null vector len", func(e *jute.Encoder) { e.VectorLen(0, true) }, "ffffffff"},
		{"null acls", func(e *jute.Encoder) { jute.EncodeACLs(e, nil) }, "ffffffff"},
		{"empty acls", func(e *jute.Encoder) { jute.EncodeACLs(e, []jute.ACL{}) }, "00000000"},
		{"null ids", func(e *jute.Encoder) { jute.EncodeIds(e, nil) }, "ffffffff"},
		{"acls", func(e *jute.Encoder) {
			jute.EncodeACLs(e, []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}}})
		}, "00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e jute.Encoder
			tc.enc(&e)
			if want := mustHex(t, tc.want); !bytes.Equal(e.Bytes(), want) {
				t.Fatalf("got %x, want %x", e.Bytes(), want)
			}
			if e.Len() != len(e.Bytes()) {
				t.Fatalf("Len %d != %d", e.Len(), len(e.Bytes()))
			}
		})
	}
}

func TestEncoderBufferManagement(t *testing.T) {
	e := jute.NewEncoder([]byte{0xaa})
	e.Int(1)
	if got := e.Bytes(); !bytes.Equal(got, []byte{0xaa, 0, 0, 0, 1}) {
		t.Fatalf("NewEncoder must append: %x", got)
	}
	off := e.Len()
	e.Int(0)
	e.Raw([]byte("xyz"))
	e.PutInt(off, 3)
	if got := e.Bytes()[off:]; !bytes.Equal(got, []byte{0, 0, 0, 3, 'x', 'y', 'z'}) {
		t.Fatalf("PutInt: %x", got)
	}
	e.Reset()
	if e.Len() != 0 {
		t.Fatalf("Reset left %d bytes", e.Len())
	}
	own := make([]byte, 2, 64)
	e.SetBytes(own)
	e.Byte(7)
	if got := e.Bytes(); len(got) != 3 || got[2] != 7 || &got[0] != &own[0] {
		t.Fatalf("SetBytes must append into the given slice: %x", got)
	}
}

func TestDecoderPrimitives(t *testing.T) {
	b := mustHex(t, `ab 00 07 01020304 fffffffffffffffe 00000003 2f6162 ffffffff 00000000
		00000002 0102 ffffffff 00000000 00000002 00000001 61 00000000 ffffffff 00000000`)
	d := jute.NewDecoder(b)
	if v := d.Byte(); v != 0xab {
		t.Fatalf("Byte %x", v)
	}
	if d.Bool() {
		t.Fatal("0 must read false")
	}
	if !d.Bool() {
		t.Fatal("any non-zero byte must read true, as Java reads it")
	}
	if v := d.Int(); v != 0x01020304 {
		t.Fatalf("Int %x", v)
	}
	if v := d.Long(); v != -2 {
		t.Fatalf("Long %d", v)
	}
	if v := d.String(); v != "/ab" {
		t.Fatalf("String %q", v)
	}
	if v := d.StringBytes(); v != nil {
		t.Fatalf("null StringBytes must be nil, got %q", v)
	}
	if v := d.StringBytes(); v == nil || len(v) != 0 {
		t.Fatalf("empty StringBytes must be non-nil and empty, got %#v", v)
	}
	if v := d.Buffer(); !bytes.Equal(v, []byte{1, 2}) {
		t.Fatalf("Buffer %x", v)
	}
	if v := d.Buffer(); v != nil {
		t.Fatalf("null Buffer must be nil, got %#v", v)
	}
	if v := d.Buffer(); v == nil || len(v) != 0 {
		t.Fatalf("empty Buffer must be non-nil, got %#v", v)
	}
	if v := d.Strings(); len(v) != 2 || v[0] != "a" || v[1] != "" {
		t.Fatalf("Strings %q", v)
	}
	if v := d.Strings(); v != nil {
		t.Fatalf("null Strings must be nil, got %#v", v)
	}
	if v := d.Strings(); v == nil || len(v) != 0 {
		t.Fatalf("empty Strings must be non-nil, got %#v", v)
	}
	if d.Err() != nil || d.Remaining() != 0 || d.Offset() != len(b) {
		t.Fatalf("err %v remaining %d offset %d", d.Err(), d.Remaining(), d.Offset())
	}
}

func TestDecoderNullString(t *testing.T) {
	d := jute.NewDecoder(mustHex(t, "ffffffff"))
	if s := d.String(); s != "" || d.Err() != nil {
		t.Fatalf("null ustring must read as \"\" without error: %q %v", s, d.Err())
	}
}

func TestDecoderNullableString(t *testing.T) {
	d := jute.NewDecoder(mustHex(t, "ffffffff 00000000 00000002 6162"))
	for _, want := range []struct {
		s    string
		null bool
	}{{"", true}, {"", false}, {"ab", false}} {
		if s, null := d.NullableString(); s != want.s || null != want.null {
			t.Fatalf("got %q null=%v, want %q null=%v", s, null, want.s, want.null)
		}
	}
	if s, null := d.NullableString(); s != "" || null || !errors.Is(d.Err(), jute.ErrShort) {
		t.Fatalf("past the end: %q null=%v err %v", s, null, d.Err())
	}
}

func TestDecoderBufferCopiesAndAliases(t *testing.T) {
	in := mustHex(t, "00000002 0102 00000002 0304")
	d := jute.NewDecoder(in)
	cp := d.Buffer()
	al := d.BufferAlias()
	in[4], in[10] = 0xee, 0xee
	if cp[0] != 1 {
		t.Fatal("Buffer must copy")
	}
	if al[0] != 0xee {
		t.Fatal("BufferAlias must alias the input")
	}
	if cap(al) != len(al) {
		t.Fatalf("BufferAlias must be capped so appends cannot clobber the input: len %d cap %d", len(al), cap(al))
	}
}

func TestDecoderRestSkip(t *testing.T) {
	d := jute.NewDecoder([]byte{1, 2, 3, 4, 5})
	d.Skip(2)
	if !bytes.Equal(d.Rest(), []byte{3, 4, 5}) || d.Offset() != 2 {
		t.Fatalf("Rest %x off %d", d.Rest(), d.Offset())
	}
	d.Skip(4)
	if !errors.Is(d.Err(), jute.ErrShort) {
		t.Fatalf("Skip past end: %v", d.Err())
	}
	d.Reset([]byte{0, 0, 0, 9})
	if d.Err() != nil || d.Int() != 9 {
		t.Fatal("Reset must clear the error")
	}
}

func TestDecoderErrorsAreSticky(t *testing.T) {
	d := jute.NewDecoder([]byte{0, 0, 0, 1, 0xff})
	if d.Int() != 1 {
		t.Fatal("first int")
	}
	if v := d.Long(); v != 0 || !errors.Is(d.Err(), jute.ErrShort) {
		t.Fatalf("short long: %d %v", v, d.Err())
	}
	// Everything after a failure reads zero values, even if bytes remain
	// in the buffer.
	if d.Byte() != 0 || d.Int() != 0 || d.String() != "" || d.Buffer() != nil || d.Strings() != nil {
		t.Fatal("reads after an error must return zero values")
	}
	d.Fail(errors.New("other"))
	if !errors.Is(d.Err(), jute.ErrShort) {
		t.Fatal("Fail must not replace the first error")
	}
	d2 := jute.NewDecoder(nil)
	mine := errors.New("mine")
	d2.Fail(mine)
	if d2.Err() != mine {
		t.Fatal("Fail must record the first error")
	}
}

// TestDecoderBadLengths feeds every length-prefixed type negative and
// oversized lengths: each must fail cleanly.
func TestDecoderBadLengths(t *testing.T) {
	type reader struct {
		name string
		read func(d *jute.Decoder)
	}
	readers := []reader{
		{"String", func(d *jute.Decoder) { _ = d.String() }},
		{"StringBytes", func(d *jute.Decoder) { d.StringBytes() }},
		{"NullableString", func(d *jute.Decoder) { d.NullableString() }},
		{"Buffer", func(d *jute.Decoder) { d.Buffer() }},
		{"BufferAlias", func(d *jute.Decoder) { d.BufferAlias() }},
		{"Strings", func(d *jute.Decoder) { d.Strings() }},
		{"ACLs", func(d *jute.Decoder) { jute.DecodeACLs(d) }},
		{"Ids", func(d *jute.Decoder) { jute.DecodeIds(d) }},
		{"VectorLen", func(d *jute.Decoder) { d.VectorLen(1) }},
		{"MultiTxn", func(d *jute.Decoder) { new(jute.MultiTxn).Decode(d) }},
		{"WhoAmI", func(d *jute.Decoder) { new(jute.WhoAmIResponse).Decode(d) }},
	}
	lengths := []struct {
		name string
		pfx  string
	}{
		{"-2", "fffffffe"},
		{"min int", "80000000"},
		{"max int", "7fffffff"},
		{"one past input", "00000005"},
		{"jute.maxbuffer", "000fffff"},
	}
	for _, r := range readers {
		for _, l := range lengths {
			t.Run(r.name+"/"+l.name, func(t *testing.T) {
				in := append(mustHex(t, l.pfx), 1, 2, 3, 4)
				d := jute.NewDecoder(in)
				r.read(d)
				if d.Err() == nil {
					t.Fatalf("length %s accepted", l.pfx)
				}
			})
		}
	}
}

// TestDecoderNoAllocationFromClaims checks that a huge claimed length or
// count costs no more memory than the few bytes actually present.
func TestDecoderNoAllocationFromClaims(t *testing.T) {
	inputs := map[string][]byte{
		"string":   mustHex(t, "7fffffff 0102"),
		"strings":  mustHex(t, "7fffffff 00000000 00000000"),
		"acls":     mustHex(t, "7fffffff 00000000 00000000 00000000"),
		"ids":      mustHex(t, "7fffffff 00000000 00000000"),
		"multitxn": mustHex(t, "7fffffff 00000001 00000000"),
		"whoami":   mustHex(t, "7fffffff 00000000 00000000"),
		"nested":   mustHex(t, "00000001 7fffffff"),
	}
	decoders := map[string]func(d *jute.Decoder){
		"string":   func(d *jute.Decoder) { d.Buffer() },
		"strings":  func(d *jute.Decoder) { d.Strings() },
		"acls":     func(d *jute.Decoder) { jute.DecodeACLs(d) },
		"ids":      func(d *jute.Decoder) { jute.DecodeIds(d) },
		"multitxn": func(d *jute.Decoder) { new(jute.MultiTxn).Decode(d) },
		"whoami":   func(d *jute.Decoder) { new(jute.WhoAmIResponse).Decode(d) },
		"nested":   func(d *jute.Decoder) { new(jute.MultiTxn).Decode(d) },
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			dec := decoders[name]
			allocated := bytesAllocated(func() {
				for range 100 {
					d := jute.NewDecoder(in)
					dec(d)
					if d.Err() == nil {
						t.Fatal("accepted")
					}
				}
			})
			if allocated > 100*1024 {
				t.Fatalf("100 decodes of %d bytes allocated %d bytes", len(in), allocated)
			}
		})
	}
}

func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestVectorLenMinElem(t *testing.T) {
	tests := []struct {
		in      string
		minElem int
		want    int
		ok      bool
	}{
		{"00000002 0000000000000000", 4, 2, true},
		{"00000003 0000000000000000", 4, -1, false},
		{"00000002 0000000000000000", 0, 2, true}, // minElem < 1 is treated as 1
		{"00000009 0000000000000000", 0, -1, false},
		{"00000000", 12, 0, true},
		{"ffffffff", 12, -1, true},
		{"fffffffe", 12, -1, false},
	}
	for _, tc := range tests {
		d := jute.NewDecoder(mustHex(t, tc.in))
		got := d.VectorLen(tc.minElem)
		if got != tc.want || (d.Err() == nil) != tc.ok {
			t.Errorf("VectorLen(%s, %d) = %d, %v; want %d ok=%v", tc.in, tc.minElem, got, d.Err(), tc.want, tc.ok)
		}
	}
}

func TestMarshalUnmarshal(t *testing.T) {
	h := &jute.RequestHeader{Xid: 7, Type: 4}
	b := jute.Marshal(h)
	if !bytes.Equal(b, mustHex(t, "00000007 00000004")) {
		t.Fatalf("Marshal %x", b)
	}
	var got jute.RequestHeader
	if err := jute.Unmarshal(append(b, 0xff), &got); err != nil || got != *h {
		t.Fatalf("Unmarshal must allow trailing bytes: %v %+v", err, got)
	}
	if err := jute.UnmarshalExact(append(b, 0xff), &got); err == nil {
		t.Fatal("UnmarshalExact must refuse trailing bytes")
	}
	if err := jute.UnmarshalExact(b[:7], &got); !errors.Is(err, jute.ErrShort) {
		t.Fatalf("short input: %v", err)
	}
	var e jute.Encoder
	e.Record(h)
	d := jute.NewDecoder(e.Bytes())
	var r jute.RequestHeader
	d.Record(&r)
	if r != *h || d.Err() != nil {
		t.Fatal("Encoder.Record / Decoder.Record")
	}
}
