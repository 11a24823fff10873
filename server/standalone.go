package server

import (
	"sync"

	"github.com/rs/zerolog"

	"zkd/wire"
)

// TxnLog is where a standalone server makes txns durable.
type TxnLog interface {
	// Append adds a txn to the log (buffered).
	Append(t *wire.Txn) error
	// Commit makes everything appended durable (one fsync for the batch).
	Commit() error
	Close() error
}

// MemoryLog keeps nothing: the state lives only in memory.
type MemoryLog struct{}

func (MemoryLog) Append(*wire.Txn) error { return nil }
func (MemoryLog) Commit() error          { return nil }
func (MemoryLog) Close() error           { return nil }

// standalone is the Replicator of a single server: one goroutine appends
// each batch to the txn log and commits it with one fsync (group commit);
// batches grow while an fsync is in progress.
type standalone struct {
	log       TxnLog
	snaps     *snapshotter
	in        *requestQueue
	out       chan []*Request
	done      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	logger    zerolog.Logger
	// onError is called when the log cannot be written: committed data
	// can no longer be promised, so the server stops.
	onError func(error)
}

func newStandalone(log TxnLog, snaps *snapshotter, logger zerolog.Logger, onError func(error)) *standalone {
	st := &standalone{
		log: log, snaps: snaps, in: newRequestQueue(), out: make(chan []*Request, 16),
		done: make(chan struct{}), stopped: make(chan struct{}), logger: logger, onError: onError,
	}
	go st.run()
	return st
}

func (st *standalone) Propose(batch []*Request)     { st.in.push(batch...) }
func (st *standalone) Committed() <-chan []*Request { return st.out }

func (st *standalone) run() {
	defer close(st.stopped)
	for {
		select {
		case <-st.done:
			return
		case <-st.in.signal:
		}
		batch := st.in.drain(nil)
		if len(batch) == 0 {
			continue
		}
		var err error
		n := 0
		for _, r := range batch {
			if r.txn != nil {
				if err = st.log.Append(r.txn); err != nil {
					break
				}
				n++
			}
		}
		if err == nil {
			err = st.log.Commit()
		}
		if err == nil && n > 0 {
			st.snaps.appended(n)
		}
		if err != nil {
			st.logger.Error().Err(err).Msg("cannot write the txn log; stopping")
			st.onError(err)
			return
		}
		select {
		case st.out <- batch:
		case <-st.done:
			return
		}
	}
}

// Close stops the log writer goroutine and waits for it, so the log can
// be closed safely after.
func (st *standalone) Close() error {
	st.closeOnce.Do(func() { close(st.done) })
	<-st.stopped
	return nil
}
