package load

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// Ensure creates each path (persistent, empty, open ACL) that does not
// exist yet, parents first.
func Ensure(s *Session, paths ...string) error {
	for _, p := range paths {
		c, err := s.Call(wire.OpCreate, &jute.CreateRequest{Path: p, Data: []byte{}, ACL: OpenACL})
		if err != nil {
			return err
		}
		if err := c.Err(); err != nil && !errors.Is(err, wire.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// appendKey appends prefix followed by i zero-padded to width digits,
// without allocating: the request generators call it for every request.
func appendKey(dst []byte, prefix string, i, width int) []byte {
	dst = append(dst, prefix...)
	var num [20]byte
	b := strconv.AppendInt(num[:0], int64(i), 10)
	for n := len(b); n < width; n++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}

// keyName is appendKey for callers that want a string.
func keyName(prefix string, i, width int) string { return string(appendKey(nil, prefix, i, width)) }

// encodePath writes a ustring from bytes.
func encodePath(e *jute.Encoder, p []byte) {
	e.Int(int32(len(p)))
	e.Raw(p)
}

// encodeCreate writes a CreateRequest for a persistent node with the open
// ACL, without building the record.
func encodeCreate(e *jute.Encoder, path, data []byte, flags int32) {
	encodePath(e, path)
	e.Buffer(data)
	jute.EncodeACLs(e, OpenACL)
	e.Int(flags)
}

// createGen creates the nodes name(0) .. name(n-1), shared by all the
// sessions of a bulk load through one counter.
type createGen struct {
	next        *atomic.Int64
	n           int64
	name        func(dst []byte, i int64) []byte
	value       []byte
	allowExists bool
	buf         []byte
}

func (g *createGen) Next(e *jute.Encoder) (wire.OpCode, uint32, bool) {
	i := g.next.Add(1) - 1
	if i >= g.n {
		return 0, 0, false
	}
	g.buf = g.name(g.buf[:0], i)
	encodeCreate(e, g.buf, g.value, 0)
	return wire.OpCreate, 0, true
}

func (g *createGen) Check(op wire.OpCode, _ uint32, code wire.Error, d *jute.Decoder) error {
	if code == wire.ErrNodeExists && g.allowExists {
		return nil
	}
	if code != wire.ErrOK {
		return fmt.Errorf("create: %w", code)
	}
	if p := d.StringBytes(); len(p) == 0 {
		return errorf("create reply without a path")
	}
	return nil
}

// BulkCreate creates n nodes named by name, with sessions × depth creates
// in flight. Parents must exist. It fails if any create fails (NodeExists
// excepted when allowExists), and returns the time it took.
func BulkCreate(ctx context.Context, addr string, n int64, name func(dst []byte, i int64) []byte,
	value []byte, sessions, depth int, allowExists bool) (time.Duration, error) {
	if n <= 0 {
		return 0, nil
	}
	next := new(atomic.Int64)
	env := &Env{Addr: addr}
	t0 := time.Now()
	res, err := runClosedLoop(ctx, env, "bulk-create", closedLoop{
		sessions: sessions, depth: depth,
		gen: func(int) Gen {
			return &createGen{next: next, n: n, name: name, value: value, allowExists: allowExists}
		},
		ops:  n,
		opts: Options{NoPing: false},
	})
	if err != nil {
		return 0, err
	}
	if !res.Valid() {
		return 0, fmt.Errorf("bulk create: %d errors, first: %s", res.Errors, res.FirstError)
	}
	if res.Ops != uint64(n) {
		return 0, fmt.Errorf("bulk create: %d of %d creates answered", res.Ops, n)
	}
	return time.Since(t0), nil
}

// value returns a deterministic value of size n.
func value(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// ensureKeys makes the key space <root>/kv/k000000 .. k<keys-1> with values
// of size vs, unless its last key already exists.
func ensureKeys(ctx context.Context, addr, root string, keys, vs int) (string, error) {
	dir := root + "/kv"
	s, err := Dial(addr, Options{})
	if err != nil {
		return "", err
	}
	defer s.Close()
	if err := Ensure(s, root, dir); err != nil {
		return "", err
	}
	last := keyName(dir+"/k", keys-1, 7)
	c, err := s.Call(wire.OpExists, &jute.ExistsRequest{Path: last})
	if err != nil {
		return "", err
	}
	if c.Hdr.Err == 0 {
		return dir, nil
	}
	prefix := dir + "/k"
	_, err = BulkCreate(ctx, addr, int64(keys), func(dst []byte, i int64) []byte {
		return appendKey(dst, prefix, int(i), 7)
	}, value(vs), 8, 64, true)
	return dir, err
}
