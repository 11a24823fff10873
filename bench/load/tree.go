package load

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// Tree is a 3-level tree of znodes, Fanout[0] × Fanout[1] × Fanout[2]
// leaves under Root, every node holding ValueSize bytes.
type Tree struct {
	Root      string
	Fanout    [3]int
	ValueSize int
}

// TreeFor shapes a tree of about n leaves: 100 × 100 × n/10,000 (the
// 1,000,000-node tree is 100 × 100 × 100), or a cube for small n.
func TreeFor(root string, n, valueSize int) Tree {
	t := Tree{Root: root, ValueSize: valueSize}
	if n >= 10000 {
		t.Fanout = [3]int{100, 100, (n + 9999) / 10000}
	} else {
		c := 1
		for c*c*c < n {
			c++
		}
		t.Fanout = [3]int{c, c, c}
	}
	return t
}

// Leaves is the number of third-level nodes.
func (t Tree) Leaves() int { return t.Fanout[0] * t.Fanout[1] * t.Fanout[2] }

// Nodes is the number of znodes the tree adds, its root included.
func (t Tree) Nodes() int {
	return 1 + t.Fanout[0] + t.Fanout[0]*t.Fanout[1] + t.Leaves()
}

func digits(n int) int { return len(strconv.Itoa(max(n-1, 0))) }

// appendPath appends the path of node i of the given level (0-based).
func (t Tree) appendPath(dst []byte, level int, i int64) []byte {
	dst = append(dst, t.Root...)
	// Decompose i into one index per level, the last level varying fastest.
	var idx [3]int64
	for l := level; l >= 0; l-- {
		f := int64(t.Fanout[l])
		idx[l] = i % f
		i /= f
	}
	for l := 0; l <= level; l++ {
		dst = appendKey(dst, "/n", int(idx[l]), digits(t.Fanout[l]))
	}
	return dst
}

// LastLeaf is the path of the last leaf created: a node that exists only
// if the whole tree does.
func (t Tree) LastLeaf() string {
	return string(t.appendPath(nil, 2, int64(t.Leaves()-1)))
}

// LoadResult is what loading a tree took.
type LoadResult struct {
	Nodes    int
	Duration time.Duration
	Latency  Latency // of the leaf creates
}

// LoadTree creates the tree level by level (a level's parents must all
// exist first), sessions × depth creates in flight, every reply checked.
func LoadTree(ctx context.Context, addr string, t Tree, sessions, depth int, logf func(string, ...any)) (*LoadResult, error) {
	if err := ensurePaths(addr, t.Root); err != nil {
		return nil, err
	}
	val := value(t.ValueSize)
	out := &LoadResult{Nodes: t.Nodes()}
	t0 := time.Now()
	n := int64(1)
	for level := 0; level < 3; level++ {
		n *= int64(t.Fanout[level])
		lv := level
		if logf != nil {
			logf("tree: level %d, %d nodes", level+1, n)
		}
		env := &Env{Addr: addr}
		next := new(atomic.Int64)
		res, err := runClosedLoop(ctx, env, "load-tree", closedLoop{
			sessions: sessions, depth: depth, ops: n,
			gen: func(int) Gen {
				return &createGen{next: next, n: n, value: val, name: func(dst []byte, i int64) []byte {
					return t.appendPath(dst, lv, i)
				}}
			},
		})
		if err != nil {
			return nil, err
		}
		if !res.Valid() || res.Ops != uint64(n) {
			return nil, fmt.Errorf("tree level %d: %d of %d created, %d errors, first: %s", level+1, res.Ops, n, res.Errors, res.FirstError)
		}
		if level == 2 {
			out.Latency = res.Latency
		}
	}
	out.Duration = time.Since(t0)
	return out, nil
}
