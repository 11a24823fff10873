package server

import (
	"sync"
	"sync/atomic"
	"time"

	"zkd/quorum"
)

// superSecret is XORed into the session id to seed the password generator.
const superSecret = 0xB3415C00

// Session is a client session as the SessionTracker knows it.
type Session struct {
	ID      int64
	timeout atomic.Int32 // negotiated, ms
	// expireAt is the tick-rounded time (ms on the tracker's clock) at
	// which the session expires unless touched.
	expireAt atomic.Int64
	closing  atomic.Bool
	conn     atomic.Pointer[Conn]
	// local marks a session a read-only server created: it exists only
	// here and ends when the server rejoins a quorum.
	local atomic.Bool
}

// Timeout is the negotiated session timeout in ms.
func (s *Session) Timeout() int32 { return s.timeout.Load() }

// SessionTracker tracks live sessions and expires them in tick-sized
// buckets, as SessionTrackerImpl does: a session's expiry time is rounded
// up to the next tick boundary, and the expirer wakes at each boundary.
type SessionTracker struct {
	mu       sync.RWMutex
	sessions map[int64]*Session
	tick     int64
	nextID   atomic.Int64
	epoch    time.Time

	// A learner reports the sessions it saw traffic for in each PING
	// reply; the leader expires sessions for the whole ensemble.
	recordTouches atomic.Bool
	touchMu       sync.Mutex
	touched       map[int64]int32
}

// NewSessionTracker starts session ids as ZooKeeper does for serverID.
func NewSessionTracker(serverID int64, tickMs int) *SessionTracker {
	t := &SessionTracker{
		sessions: make(map[int64]*Session),
		tick:     int64(tickMs),
		epoch:    time.Now(),
	}
	t.nextID.Store(InitialSessionID(serverID, time.Now().UnixMilli()))
	return t
}

// InitialSessionID is SessionTrackerImpl.initializeNextSessionId: the
// server id in the top byte, then 40 bits of the millisecond clock, then a
// 16-bit counter.
func InitialSessionID(serverID, nowMs int64) int64 {
	id := int64(uint64(nowMs<<24) >> 8)
	id |= serverID << 56
	if id == -1<<63 {
		id++
	}
	return id
}

// now is the tracker's clock in ms.
func (t *SessionTracker) now() int64 { return time.Since(t.epoch).Milliseconds() }

// roundToNextInterval is the expiry bucket of a time.
func (t *SessionTracker) roundToNextInterval(ms int64) int64 {
	return (ms/t.tick + 1) * t.tick
}

// Create registers a new session with a fresh id.
func (t *SessionTracker) Create(timeout int32) *Session {
	id := t.nextID.Add(1) - 1
	return t.Add(id, timeout)
}

// Add registers a session with a known id (restored from disk or created
// elsewhere) and starts its expiry clock.
func (t *SessionTracker) Add(id int64, timeout int32) *Session {
	t.mu.Lock()
	s := t.sessions[id]
	if s == nil {
		s = &Session{ID: id}
		t.sessions[id] = s
	}
	t.mu.Unlock()
	s.timeout.Store(timeout)
	s.expireAt.Store(t.roundToNextInterval(t.now() + int64(timeout)))
	return s
}

// Get returns a live session.
func (t *SessionTracker) Get(id int64) *Session {
	t.mu.RLock()
	s := t.sessions[id]
	t.mu.RUnlock()
	return s
}

// Touch pushes a session's expiry out by its timeout. It reports false
// for unknown or closing sessions.
func (t *SessionTracker) Touch(s *Session) bool { return t.TouchAt(s, time.Now()) }

// TouchAt is Touch with the time the request arrived.
func (t *SessionTracker) TouchAt(s *Session, at time.Time) bool {
	if s == nil || s.closing.Load() {
		return false
	}
	exp := t.roundToNextInterval(at.Sub(t.epoch).Milliseconds() + int64(s.timeout.Load()))
	if s.expireAt.Load() < exp {
		s.expireAt.Store(exp)
	}
	if t.recordTouches.Load() {
		t.touchMu.Lock()
		if t.touched == nil {
			t.touched = make(map[int64]int32)
		}
		t.touched[s.ID] = s.timeout.Load()
		t.touchMu.Unlock()
	}
	return true
}

// DrainTouches returns the sessions touched since the last call (the
// touch table of a learner's PING reply).
func (t *SessionTracker) DrainTouches() []quorum.Touch {
	t.touchMu.Lock()
	defer t.touchMu.Unlock()
	out := make([]quorum.Touch, 0, len(t.touched))
	for id, to := range t.touched {
		out = append(out, quorum.Touch{SessionID: id, Timeout: to})
	}
	clear(t.touched)
	return out
}

// Reset makes the tracker hold exactly the given sessions (after a
// database is replaced), keeping the objects of those it already had.
func (t *SessionTracker) Reset(sessions map[int64]int32) {
	t.mu.Lock()
	for id := range t.sessions {
		if _, ok := sessions[id]; !ok {
			delete(t.sessions, id)
		}
	}
	t.mu.Unlock()
	for id, to := range sessions {
		t.Add(id, to)
	}
}

// RemoveLocal forgets the read-only sessions.
func (t *SessionTracker) RemoveLocal() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id, s := range t.sessions {
		if s.local.Load() {
			delete(t.sessions, id)
			n++
		}
	}
	return n
}

// Remove forgets a session.
func (t *SessionTracker) Remove(id int64) {
	t.mu.Lock()
	delete(t.sessions, id)
	t.mu.Unlock()
}

// Expired returns the sessions whose bucket has passed and marks them
// closing; the caller submits their closeSession. localOnly limits it to
// read-only sessions: a server cut off from its quorum must not expire
// the ensemble's sessions.
func (t *SessionTracker) Expired(localOnly bool) []*Session {
	now := t.now()
	var out []*Session
	t.mu.RLock()
	for _, s := range t.sessions {
		if localOnly && !s.local.Load() {
			continue
		}
		if s.expireAt.Load() <= now && !s.closing.Load() {
			out = append(out, s)
		}
	}
	t.mu.RUnlock()
	for _, s := range out {
		s.closing.Store(true)
	}
	return out
}

// NextExpiry is the wait until the next bucket boundary.
func (t *SessionTracker) NextExpiry() time.Duration {
	now := t.now()
	return time.Duration(t.roundToNextInterval(now)-now) * time.Millisecond
}

// Count is the number of live sessions.
func (t *SessionTracker) Count() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.sessions)
}

// All returns every live session.
func (t *SessionTracker) All() []*Session {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*Session, 0, len(t.sessions))
	for _, s := range t.sessions {
		out = append(out, s)
	}
	return out
}

// Password is the session password: the first 16 bytes of
// java.util.Random(sessionID ^ superSecret).nextBytes.
func Password(sessionID int64) []byte {
	const mult = 0x5DEECE66D
	const mask = 1<<48 - 1
	seed := (uint64(sessionID^superSecret) ^ mult) & mask
	out := make([]byte, 16)
	for i := 0; i < 16; i += 4 {
		seed = (seed*mult + 0xB) & mask
		r := uint32(seed >> 16)
		for j := 0; j < 4; j++ {
			out[i+j] = byte(r)
			r >>= 8
		}
	}
	return out
}
