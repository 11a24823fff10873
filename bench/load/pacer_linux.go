package load

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A timerPacer waits on a timerfd. Go's own timers sleep in epoll_wait,
// whose timeout has millisecond resolution: a wait of 300 µs on an idle
// client lasts about 1 ms, and an open loop whose sessions send one
// request every few hundred µs would charge that to the server. A timerfd
// is an hrtimer the runtime's poller wakes on, accurate to a few µs.
type timerPacer struct {
	f   *os.File
	buf [8]byte
}

func newPacer() pacer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &goPacer{}
	}
	return &timerPacer{f: os.NewFile(uintptr(fd), "timerfd")}
}

func (p *timerPacer) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(int(p.f.Fd()), 0, &spec, nil); err != nil {
		return false
	}
	_, err := p.f.Read(p.buf[:])
	return err == nil
}

func (p *timerPacer) close() { p.f.Close() }
