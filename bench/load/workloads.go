package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// Workload is one benchmark.
type Workload struct {
	Name string
	// Desc says what is measured, for the report.
	Desc string
	Run  func(ctx context.Context, env *Env, p Params) (*Result, error)
	// RateOf, on an open-loop (fixed-rate) workload, names the closed-loop
	// workload whose throughput the suite sets the offered load from.
	RateOf string
	// Ensemble workloads run against a 3-server ensemble (Env.Addrs).
	Ensemble bool
}

// Workloads lists every workload in the order the suite runs them.
func Workloads() []Workload {
	return []Workload{
		{Name: "read", Desc: "getData of random keys (sessions × depth in flight)", Run: runRead},
		{Name: "write", Desc: "setData of random keys (sessions × depth in flight)", Run: runWrite},
		{Name: "mixed", Desc: "getData/setData of random keys at ReadRatio reads", Run: runMixed},
		{Name: "read-rate", Desc: "getData of random keys at a fixed offered rate (open loop, latency from each request's due time)", Run: runReadRate, RateOf: "read"},
		{Name: "write-rate", Desc: "setData of random keys at a fixed offered rate (open loop, latency from each request's due time)", Run: runWriteRate, RateOf: "write"},
		{Name: "mixed-rate", Desc: "getData/setData of random keys at ReadRatio reads, at a fixed offered rate (open loop)", Run: runMixedRate, RateOf: "mixed"},
		{Name: "create-delete", Desc: "create a node then delete it, per session", Run: runCreateDelete},
		{Name: "exists-wide", Desc: "exists of random children of a node with Children children", Run: runExists},
		{Name: "getchildren-wide", Desc: "getChildren of a node with Children children", Run: runGetChildren},
		{Name: "multi", Desc: "multi of MultiOps setData ops on random keys", Run: runMulti},
		{Name: "latency-write", Desc: "one session, depth 1: setData round trip (with the fdatasync and loopback floors)", Run: runLatencyWrite},
		{Name: "latency-read", Desc: "one session, depth 1: getData round trip", Run: runLatencyRead},
		{Name: "watch-fanout", Desc: "one setData, Watchers sessions watching the node: time until all are notified", Run: runWatchFanout},
		{Name: "session-churn", Desc: "connect + closeSession on a new connection, Sessions at a time", Run: runChurn},
		{Name: "idle-sessions", Desc: "Idle sessions sending heartbeats: server CPU and RSS", Run: runIdle},
		{Name: "ensemble-write", Desc: "3-server ensemble: setData of random keys, sessions spread over all three servers (sessions × depth in flight); server CPU and RSS are the three members'", Run: runEnsembleWrite, Ensemble: true},
		{Name: "ensemble-read", Desc: "3-server ensemble: getData of random keys, sessions spread over all three servers (sessions × depth in flight)", Run: runEnsembleRead, Ensemble: true},
		{Name: "ensemble-election", Desc: "3-server ensemble: SIGKILL the leader, time until a write through a surviving server succeeds and until srvr on a survivor shows a new leader; Kills times", Run: runElection, Ensemble: true},
	}
}

// Lookup finds a workload by name.
func Lookup(name string) (Workload, bool) {
	for _, w := range Workloads() {
		if w.Name == name {
			return w, true
		}
	}
	return Workload{}, false
}

// Run runs the named workload with p (zero fields take the defaults).
func Run(ctx context.Context, env *Env, name string, p Params) (*Result, error) {
	w, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown workload %q", name)
	}
	p = p.fill(Defaults())
	res, err := w.Run(ctx, env, p)
	if res != nil {
		res.Workload, res.Params = name, p
	}
	return res, err
}

// kvGen reads and writes random keys of the key space.
type kvGen struct {
	rng       *rand.Rand
	prefix    string
	keys      int
	value     []byte
	readRatio float64 // 1: only getData, 0: only setData
	buf       []byte
}

func newKV(seed uint64, dir string, p Params, readRatio float64) *kvGen {
	return &kvGen{
		rng: rand.New(rand.NewPCG(seed, 0x5eed)), prefix: dir + "/k", keys: p.Keys,
		value: value(p.ValueSize), readRatio: readRatio,
	}
}

func (g *kvGen) Next(e *jute.Encoder) (wire.OpCode, uint32, bool) {
	g.buf = appendKey(g.buf[:0], g.prefix, g.rng.IntN(g.keys), 7)
	encodePath(e, g.buf)
	if g.readRatio >= 1 || (g.readRatio > 0 && g.rng.Float64() < g.readRatio) {
		e.Bool(false)
		return wire.OpGetData, 0, true
	}
	e.Buffer(g.value)
	e.Int(-1)
	return wire.OpSetData, 0, true
}

func (g *kvGen) Check(op wire.OpCode, _ uint32, code wire.Error, d *jute.Decoder) error {
	if code != wire.ErrOK {
		return fmt.Errorf("%v: %w", op, code)
	}
	switch op {
	case wire.OpGetData:
		if b := d.BufferAlias(); len(b) != len(g.value) {
			return errorf("getData returned %d bytes, want %d", len(b), len(g.value))
		}
	case wire.OpSetData:
	default:
		return errorf("unexpected op %v", op)
	}
	var st jute.Stat
	st.Decode(d)
	if d.Err() == nil && int(st.DataLength) != len(g.value) {
		return errorf("%v: stat dataLength %d, want %d", op, st.DataLength, len(g.value))
	}
	return nil
}

// kvSetup makes the key space and, on an ensemble, waits until every
// member has it.
func kvSetup(ctx context.Context, env *Env, p Params) (string, error) {
	dir, err := ensureKeys(ctx, env.Addr, p.Root, p.Keys, p.ValueSize)
	if err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	if err := syncAll(env, dir); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	return dir, nil
}

// syncAll sends sync(path) to every member of an ensemble: a member that
// answers has applied everything its leader had committed before, so the
// setup's nodes are there for the sessions that read through it.
func syncAll(env *Env, path string) error {
	if len(env.Addrs) < 2 {
		return nil
	}
	for _, a := range env.Addrs {
		s, err := Dial(a, Options{})
		if err != nil {
			return fmt.Errorf("sync through %s: %w", a, err)
		}
		var resp jute.SyncResponse
		err = s.Do(wire.OpSync, &jute.SyncRequest{Path: path}, &resp)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("sync through %s: %w", a, err)
		}
		if resp.Path != path {
			return fmt.Errorf("sync through %s: reply path %q, want %q", a, resp.Path, path)
		}
	}
	return nil
}

func kvLoop(ctx context.Context, env *Env, name string, p Params, readRatio float64, sessions, depth int) (*Result, error) {
	dir, err := kvSetup(ctx, env, p)
	if err != nil {
		return nil, err
	}
	return runClosedLoop(ctx, env, name, closedLoop{
		sessions: sessions, depth: depth, warmup: p.Warmup, duration: p.Duration, ops: p.Ops,
		gen: func(i int) Gen { return newKV(uint64(i)+1, dir, p, readRatio) },
	})
}

func runRead(ctx context.Context, env *Env, p Params) (*Result, error) {
	return kvLoop(ctx, env, "read", p, 1, p.Sessions, p.Depth)
}

func runWrite(ctx context.Context, env *Env, p Params) (*Result, error) {
	return kvLoop(ctx, env, "write", p, 0, p.Sessions, p.Depth)
}

func runMixed(ctx context.Context, env *Env, p Params) (*Result, error) {
	r, err := kvLoop(ctx, env, "mixed", p, p.ReadRatio, p.Sessions, p.Depth)
	if r != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("%.0f%% getData, %.0f%% setData", 100*p.ReadRatio, 100*(1-p.ReadRatio)))
	}
	return r, err
}

// kvRate is kvLoop's open-loop twin: p.Rate requests/s over p.Sessions.
func kvRate(ctx context.Context, env *Env, name string, p Params, readRatio float64) (*Result, error) {
	if p.Rate <= 0 {
		return nil, fmt.Errorf("%s: no rate (Params.Rate, -rate): an open-loop workload needs the offered load", name)
	}
	dir, err := kvSetup(ctx, env, p)
	if err != nil {
		return nil, err
	}
	return runOpenLoop(ctx, env, name, openLoop{
		sessions: p.Sessions, rate: p.Rate, warmup: p.Warmup, duration: p.Duration,
		gen: func(i int) Gen { return newKV(uint64(i)+1, dir, p, readRatio) },
	})
}

func runReadRate(ctx context.Context, env *Env, p Params) (*Result, error) {
	return kvRate(ctx, env, "read-rate", p, 1)
}

func runWriteRate(ctx context.Context, env *Env, p Params) (*Result, error) {
	return kvRate(ctx, env, "write-rate", p, 0)
}

func runMixedRate(ctx context.Context, env *Env, p Params) (*Result, error) {
	r, err := kvRate(ctx, env, "mixed-rate", p, p.ReadRatio)
	if r != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("%.0f%% getData, %.0f%% setData", 100*p.ReadRatio, 100*(1-p.ReadRatio)))
	}
	return r, err
}

func runEnsembleWrite(ctx context.Context, env *Env, p Params) (*Result, error) {
	return kvLoop(ctx, env, "ensemble-write", p, 0, p.Sessions, p.Depth)
}

func runEnsembleRead(ctx context.Context, env *Env, p Params) (*Result, error) {
	return kvLoop(ctx, env, "ensemble-read", p, 1, p.Sessions, p.Depth)
}

func runLatencyRead(ctx context.Context, env *Env, p Params) (*Result, error) {
	return kvLoop(ctx, env, "latency-read", p, 1, 1, 1)
}

func runLatencyWrite(ctx context.Context, env *Env, p Params) (*Result, error) {
	// The floors first, while the server is idle, so they measure the disk
	// and the loopback rather than contention. Each is reported as
	// <key>_p50_us and <key>_p99_us.
	type floor struct {
		key, name string
		run       func() (*Histogram, error)
	}
	var floors []floor
	if env.DataDir != "" {
		floors = append(floors,
			floor{"fdatasync", "fdatasync floor", func() (*Histogram, error) { return FsyncFloor(env.DataDir, p.FloorSamples) }},
			floor{"rtt_then_fdatasync", "sequence floor", func() (*Histogram, error) { return SequenceFloor(env.DataDir, p.FloorSamples) }})
	}
	floors = append(floors, floor{"loopback_rtt", "loopback floor", func() (*Histogram, error) { return LoopbackFloor(p.FloorSamples * 5) }})
	var tmp Result
	for _, f := range floors {
		h, err := f.run()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		s := h.Summary()
		tmp.extra(f.key+"_p50_us", s.P50Us)
		tmp.extra(f.key+"_p99_us", s.P99Us)
	}
	r, err := kvLoop(ctx, env, "latency-write", p, 0, 1, 1)
	if r != nil {
		for k, v := range tmp.Extra {
			r.extra(k, v)
		}
	}
	return r, err
}

// createDeleteGen creates a node of its own, then deletes it, then the
// next: two txns per node, each one in the session's FIFO.
type createDeleteGen struct {
	prefix string
	n      int
	del    bool
	value  []byte
	buf    []byte
}

func (g *createDeleteGen) Next(e *jute.Encoder) (wire.OpCode, uint32, bool) {
	g.buf = appendKey(g.buf[:0], g.prefix, g.n, 9)
	if g.del {
		encodePath(e, g.buf)
		e.Int(-1)
		g.del = false
		g.n++
		return wire.OpDelete, 0, true
	}
	encodeCreate(e, g.buf, g.value, 0)
	g.del = true
	return wire.OpCreate, 0, true
}

func (g *createDeleteGen) Check(op wire.OpCode, _ uint32, code wire.Error, d *jute.Decoder) error {
	if code != wire.ErrOK {
		return fmt.Errorf("%v: %w", op, code)
	}
	if op == wire.OpCreate {
		if p := d.StringBytes(); len(p) <= len(g.prefix) {
			return errorf("create replied path %q", p)
		}
	}
	return nil
}

func runCreateDelete(ctx context.Context, env *Env, p Params) (*Result, error) {
	dir := p.Root + "/cd"
	if err := ensurePaths(env.Addr, p.Root, dir); err != nil {
		return nil, err
	}
	// A run can stop between a create and its delete, leaving the node:
	// names unique to this run keep a second run on the same server from
	// meeting it (NODEEXISTS).
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	return runClosedLoop(ctx, env, "create-delete", closedLoop{
		sessions: p.Sessions, depth: p.Depth, warmup: p.Warmup, duration: p.Duration, ops: p.Ops,
		gen: func(i int) Gen {
			return &createDeleteGen{prefix: keyName(dir+"/"+run+"-s", i, 3) + "-", value: value(p.ValueSize)}
		},
	})
}

func ensurePaths(addr string, paths ...string) error {
	s, err := Dial(addr, Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	return Ensure(s, paths...)
}

// ensureWide makes <root>/wide with p.Children children.
func ensureWide(ctx context.Context, env *Env, p Params) (string, error) {
	dir := p.Root + "/wide"
	if err := ensurePaths(env.Addr, p.Root, dir); err != nil {
		return "", err
	}
	prefix := dir + "/c"
	_, err := BulkCreate(ctx, env.Addr, int64(p.Children), func(dst []byte, i int64) []byte {
		return appendKey(dst, prefix, int(i), 6)
	}, value(p.ValueSize), 4, 64, true)
	return dir, err
}

type existsGen struct {
	rng      *rand.Rand
	prefix   string
	children int
	vs       int
	buf      []byte
}

func (g *existsGen) Next(e *jute.Encoder) (wire.OpCode, uint32, bool) {
	g.buf = appendKey(g.buf[:0], g.prefix, g.rng.IntN(g.children), 6)
	encodePath(e, g.buf)
	e.Bool(false)
	return wire.OpExists, 0, true
}

func (g *existsGen) Check(op wire.OpCode, _ uint32, code wire.Error, d *jute.Decoder) error {
	if code != wire.ErrOK {
		return fmt.Errorf("exists: %w", code)
	}
	var st jute.Stat
	st.Decode(d)
	if d.Err() == nil && int(st.DataLength) != g.vs {
		return errorf("exists: dataLength %d, want %d", st.DataLength, g.vs)
	}
	return nil
}

func runExists(ctx context.Context, env *Env, p Params) (*Result, error) {
	dir, err := ensureWide(ctx, env, p)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	return runClosedLoop(ctx, env, "exists-wide", closedLoop{
		sessions: p.Sessions, depth: p.Depth, warmup: p.Warmup, duration: p.Duration, ops: p.Ops,
		gen: func(i int) Gen {
			return &existsGen{rng: rand.New(rand.NewPCG(uint64(i)+1, 7)), prefix: dir + "/c", children: p.Children, vs: p.ValueSize}
		},
	})
}

type childrenGen struct {
	path     []byte
	children int
}

func (g *childrenGen) Next(e *jute.Encoder) (wire.OpCode, uint32, bool) {
	encodePath(e, g.path)
	e.Bool(false)
	return wire.OpGetChildren, 0, true
}

func (g *childrenGen) Check(op wire.OpCode, _ uint32, code wire.Error, d *jute.Decoder) error {
	if code != wire.ErrOK {
		return fmt.Errorf("getChildren: %w", code)
	}
	n := d.VectorLen(4)
	if n != g.children {
		return errorf("getChildren: %d children, want %d", n, g.children)
	}
	for i := 0; i < n; i++ {
		if len(d.StringBytes()) == 0 && d.Err() == nil {
			return errorf("getChildren: empty child name")
		}
	}
	return nil
}

func runGetChildren(ctx context.Context, env *Env, p Params) (*Result, error) {
	dir, err := ensureWide(ctx, env, p)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	// Each reply carries every child name: fewer in flight keeps the
	// replies' bytes from being what is measured.
	depth := max(1, p.Depth/4)
	return runClosedLoop(ctx, env, "getchildren-wide", closedLoop{
		sessions: p.Sessions, depth: depth, warmup: p.Warmup, duration: p.Duration, ops: p.Ops,
		gen:  func(int) Gen { return &childrenGen{path: []byte(dir), children: p.Children} },
		opts: Options{ReadBuffer: 256 << 10},
	})
}

// multiGen sends multis of setData ops on random keys.
type multiGen struct {
	kv  *kvGen
	ops int
}

func (g *multiGen) Next(e *jute.Encoder) (wire.OpCode, uint32, bool) {
	for i := 0; i < g.ops; i++ {
		h := jute.MultiHeader{Type: int32(wire.OpSetData), Err: -1}
		h.Encode(e)
		g.kv.buf = appendKey(g.kv.buf[:0], g.kv.prefix, g.kv.rng.IntN(g.kv.keys), 7)
		encodePath(e, g.kv.buf)
		e.Buffer(g.kv.value)
		e.Int(-1)
	}
	end := jute.MultiHeader{Type: -1, Done: true, Err: -1}
	end.Encode(e)
	return wire.OpMulti, 0, true
}

func (g *multiGen) Check(op wire.OpCode, _ uint32, code wire.Error, d *jute.Decoder) error {
	if code != wire.ErrOK {
		return fmt.Errorf("multi: %w", code)
	}
	for i := 0; i < g.ops; i++ {
		var h jute.MultiHeader
		h.Decode(d)
		if d.Err() != nil {
			return nil // reported by the caller
		}
		if h.Done || h.Type != int32(wire.OpSetData) || h.Err != 0 {
			return errorf("multi result %d: type %d done %v err %d", i, h.Type, h.Done, h.Err)
		}
		var st jute.Stat
		st.Decode(d)
	}
	var end jute.MultiHeader
	end.Decode(d)
	if d.Err() == nil && !end.Done {
		return errorf("multi: more than %d results", g.ops)
	}
	return nil
}

func runMulti(ctx context.Context, env *Env, p Params) (*Result, error) {
	dir, err := kvSetup(ctx, env, p)
	if err != nil {
		return nil, err
	}
	r, err := runClosedLoop(ctx, env, "multi", closedLoop{
		sessions: p.Sessions, depth: p.Depth, warmup: p.Warmup, duration: p.Duration, ops: p.Ops,
		gen: func(i int) Gen { return &multiGen{kv: newKV(uint64(i)+100, dir, p, 0), ops: p.MultiOps} },
	})
	if r != nil {
		r.OpUnit = fmt.Sprintf("multi of %d setData", p.MultiOps)
	}
	return r, err
}
