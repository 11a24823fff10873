package server

import (
	"sync"

	"zkd/wire"
)

// logWriter appends txns to the txn log from its own goroutine and
// reports each group commit (one fsync for everything queued meanwhile)
// as an evLogged event, so the processor never waits on the disk. A quorum
// peer acks proposals once they are logged.
type logWriter struct {
	log    TxnLog
	snaps  *snapshotter
	events *eventQueue
	gen    uint64

	mu      sync.Mutex
	queue   []logItem
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

type logItem struct {
	txn     *wire.Txn
	barrier chan error // a flush request: closed (or sent an error) once all before it is durable
}

func newLogWriter(log TxnLog, snaps *snapshotter, events *eventQueue) *logWriter {
	w := &logWriter{log: log, snaps: snaps, events: events,
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go w.run()
	return w
}

func (w *logWriter) push(it logItem) {
	w.mu.Lock()
	w.queue = append(w.queue, it)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// append queues a txn; its zxid comes back in an evLogged event.
func (w *logWriter) append(t *wire.Txn) { w.push(logItem{txn: t}) }

// flush waits until everything queued so far is durable.
func (w *logWriter) flush() error {
	ch := make(chan error, 1)
	w.push(logItem{barrier: ch})
	select {
	case err := <-ch:
		return err
	case <-w.stopped:
		return errStopped
	}
}

type stoppedError string

func (e stoppedError) Error() string { return string(e) }

const errStopped = stoppedError("log writer stopped")

func (w *logWriter) run() {
	defer close(w.stopped)
	for {
		select {
		case <-w.done:
			return
		case <-w.wake:
		}
		w.mu.Lock()
		items := w.queue
		w.queue = nil
		w.mu.Unlock()
		var zxids []int64
		var barriers []chan error
		var err error
		for _, it := range items {
			if it.barrier != nil {
				barriers = append(barriers, it.barrier)
				continue
			}
			if err == nil {
				err = w.log.Append(it.txn)
				zxids = append(zxids, it.txn.Header.Zxid)
			}
		}
		if err == nil && (len(zxids) > 0 || len(barriers) > 0) {
			err = w.log.Commit()
		}
		for _, b := range barriers {
			b <- err
		}
		if err != nil {
			w.events.push(quorumEvent{kind: evLogFailed, err: err})
			return
		}
		if len(zxids) > 0 {
			w.snaps.appended(len(zxids))
			w.events.push(quorumEvent{kind: evLogged, zxids: zxids})
		}
	}
}

func (w *logWriter) close() {
	w.once.Do(func() { close(w.done) })
	<-w.stopped
}
