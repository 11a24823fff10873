package load

import "time"

// A pacer sleeps an open-loop sender until its next request is due. Its
// waits are short (one session's interval between two requests), so they
// are not interruptible: the caller checks for cancellation between them.
type pacer interface {
	// wait sleeps for d; false means the pacer failed and the caller
	// should fall back to a Go timer.
	wait(d time.Duration) bool
	close()
}

// goPacer sleeps on a Go timer, at the runtime's timer resolution.
type goPacer struct{ t *time.Timer }

func (p *goPacer) wait(d time.Duration) bool {
	if p.t == nil {
		p.t = time.NewTimer(d)
	} else {
		p.t.Reset(d)
	}
	<-p.t.C
	return true
}

func (p *goPacer) close() {
	if p.t != nil {
		p.t.Stop()
	}
}
