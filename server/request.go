package server

import (
	"sync"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// Request is a client (or internal) request on its way through the
// server: decoded on an event loop, turned into a txn by prep, replicated,
// applied, and answered in the session's order.
type Request struct {
	conn      *Conn // nil for internal requests (expiry, containers)
	sessionID int64
	xid       int32
	op        wire.OpCode
	body      jute.Record // decoded body of a write
	raw       []byte      // copied body of a read waiting behind writes
	auth      []jute.Id
	// inFlight marks a request answered by the apply stage (writes, sync,
	// session creation); reads queued behind it wait for it.
	inFlight bool
	// txn is what prep produced; nil for ops that log nothing (sync).
	txn *wire.Txn
	// err is the failure prep found; the txn is then an ErrorTxn (or a
	// MultiTxn holding one).
	err      wire.Error
	received time.Time
	// connect holds the handshake answer for createSession.
	connect *jute.ConnectResponse
	// Quorum: the encoded txn a leader proposed, and whether a quorum
	// committed it.
	txnData   []byte
	committed bool
}

// opRevalidate is an internal op: a learner asks its leader whether a
// session a client brings back is still valid.
const opRevalidate wire.OpCode = -1000

// requestQueue is an unbounded multi-producer queue drained in batches by
// one consumer: producers never block, so an event loop never waits on
// the pipeline.
type requestQueue struct {
	mu     sync.Mutex
	items  []*Request
	signal chan struct{}
}

func newRequestQueue() *requestQueue {
	return &requestQueue{signal: make(chan struct{}, 1)}
}

func (q *requestQueue) push(r ...*Request) {
	q.mu.Lock()
	q.items = append(q.items, r...)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// drain takes everything queued, reusing buf's storage.
func (q *requestQueue) drain(buf []*Request) []*Request {
	q.mu.Lock()
	out := q.items
	q.items = buf[:0]
	q.mu.Unlock()
	return out
}
