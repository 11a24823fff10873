package quorum

import (
	"bytes"
	"container/heap"
	"fmt"
	"math/rand"
	"testing"
	"time"
)

func members(n int, observers ...int64) []Member {
	var ms []Member
	for i := 1; i <= n; i++ {
		m := Member{ID: int64(i), Host: "127.0.0.1", QuorumPort: 2880 + i, ElectionPort: 3880 + i}
		for _, o := range observers {
			if o == int64(i) {
				m.Observer = true
			}
		}
		ms = append(ms, m)
	}
	return ms
}

func TestNotificationRoundTrip(t *testing.T) {
	n := Notification{State: Following, Leader: 3, Zxid: 0x100000005, ElectionEpoch: 7, PeerEpoch: 1, Version: 2, Config: []byte("server.1=a:1:2:participant\nversion=0")}
	b := n.Marshal()
	if len(b) != 44+len(n.Config) {
		t.Fatalf("len %d", len(b))
	}
	got, err := ParseNotification(b)
	if err != nil || got.State != n.State || got.Leader != 3 || got.Zxid != n.Zxid || got.ElectionEpoch != 7 || got.PeerEpoch != 1 || got.Version != 2 || !bytes.Equal(got.Config, n.Config) {
		t.Fatalf("%+v %v", got, err)
	}
	// 28-byte layout: the peer epoch comes from the zxid.
	old, err := ParseNotification(b[:28])
	if err != nil || old.PeerEpoch != 1 || old.Version != 0 {
		t.Fatalf("28 bytes: %+v %v", old, err)
	}
	if v40, err := ParseNotification(b[:40]); err != nil || v40.PeerEpoch != 1 || v40.Version != 0 {
		t.Fatalf("40 bytes: %+v %v", v40, err)
	}
	bad := append([]byte(nil), b...)
	bad[43] = 0xff // config length past the end
	if _, err := ParseNotification(bad); err == nil {
		t.Fatal("bad config length accepted")
	}
	if _, err := ParseNotification(b[:20]); err == nil {
		t.Fatal("short message accepted")
	}
}

func TestConfigText(t *testing.T) {
	ms := members(3, 3)
	ms[1].ClientPort = 2181
	v := NewVerifier(ms, 0)
	want := "server.1=127.0.0.1:2881:3881:participant\nserver.2=127.0.0.1:2882:3882:participant;0.0.0.0:2181\nserver.3=127.0.0.1:2883:3883:observer\nversion=0"
	if got := v.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if ParseConfigVersion("a\nversion=100000000") != 0x100000000 {
		t.Fatal("version")
	}
	if !v.ContainsQuorum(map[int64]bool{1: true, 2: true}) || v.ContainsQuorum(map[int64]bool{1: true, 3: true}) {
		t.Fatal("quorum")
	}
}

// simNet delivers election messages with random delays and losses.
type simEvent struct {
	at   time.Time
	seq  int
	to   int64
	from int64
	n    Notification
}

type simQueue []simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type electionSim struct {
	rng   *rand.Rand
	now   time.Time
	q     simQueue
	seq   int
	nodes map[int64]*Election
	down  map[int64]bool
	loss  float64
}

func (s *electionSim) flush(from int64) {
	out, _ := s.nodes[from].Ready()
	for _, env := range out {
		if s.rng.Float64() < s.loss {
			continue
		}
		s.seq++
		d := time.Duration(s.rng.Intn(50)+1) * time.Millisecond
		heap.Push(&s.q, simEvent{at: s.now.Add(d), seq: s.seq, to: env.To, from: from, n: env.N})
	}
}

// run advances the simulation until every live node decided or the limit
// passes, and returns the decisions.
func (s *electionSim) run(limit time.Duration) map[int64]Vote {
	end := s.now.Add(limit)
	decided := map[int64]Vote{}
	for s.now.Before(end) {
		// next event: a message or a node deadline
		next := end
		if len(s.q) > 0 && s.q[0].at.Before(next) {
			next = s.q[0].at
		}
		for id, e := range s.nodes {
			if !s.down[id] && e.State() == Looking && e.NextDeadline().Before(next) {
				next = e.NextDeadline()
			}
		}
		if next.After(s.now) {
			s.now = next
		}
		for len(s.q) > 0 && !s.q[0].at.After(s.now) {
			ev := heap.Pop(&s.q).(simEvent)
			if s.down[ev.to] || s.down[ev.from] {
				continue
			}
			s.nodes[ev.to].Step(s.now, ev.from, ev.n)
			s.collect(ev.to, decided)
		}
		for id, e := range s.nodes {
			if !s.down[id] {
				e.Tick(s.now)
				s.collect(id, decided)
			}
		}
		done := true
		for id, e := range s.nodes {
			if !s.down[id] && e.State() == Looking {
				done = false
			}
		}
		if done && len(s.q) == 0 {
			break
		}
	}
	return decided
}

func (s *electionSim) collect(id int64, decided map[int64]Vote) {
	e := s.nodes[id]
	out, d := e.Ready()
	if d != nil {
		decided[id] = *d
	}
	// put the messages back for flush
	e.out = append(out, e.out...)
	s.flush(id)
}

// TestElectionSimulation runs many seeded elections with random delays,
// losses and crashed servers, and checks FastLeaderElection's outcome:
// every live server settles on the same live voter as leader; without
// message loss that is the live voter with the highest (epoch, zxid, sid).
// (With loss a quorum may agree before hearing the best server; Zab's
// epoch handshake then refuses a leader behind its followers.)
func TestElectionSimulation(t *testing.T) {
	for seed := int64(1); seed <= 3000; seed++ {
		rng := rand.New(rand.NewSource(seed))
		n := 3 + 2*rng.Intn(2)
		var obs []int64
		if rng.Intn(3) == 0 {
			n++
			obs = append(obs, int64(n))
		}
		ms := members(n, obs...)
		v := NewVerifier(ms, 0)
		loss := 0.0
		if seed%2 == 0 {
			loss = 0.2 * rng.Float64()
		}
		s := &electionSim{rng: rng, now: time.Unix(1000, 0), nodes: map[int64]*Election{}, down: map[int64]bool{}, loss: loss}
		voters := v.Voters()
		// crash a minority of voters
		for i := 0; i < rng.Intn((len(voters)-1)/2+1); i++ {
			s.down[voters[rng.Intn(len(voters))]] = true
		}
		type hist struct{ zxid, epoch int64 }
		h := map[int64]hist{}
		for _, m := range ms {
			epoch := int64(rng.Intn(3))
			h[m.ID] = hist{zxid: epoch<<32 | int64(rng.Intn(4)), epoch: epoch}
			s.nodes[m.ID] = NewElection(ElectionConfig{ID: m.ID, Verifier: v})
		}
		for id, e := range s.nodes {
			if !s.down[id] {
				e.Look(s.now, h[id].zxid, h[id].epoch)
				s.flush(id)
			}
		}
		decided := s.run(5 * time.Minute)
		// Zab's discovery phase stands in here: a follower of a server that
		// does not lead, and a leader without a quorum of followers, look
		// again, as they do when connecting to the leader fails.
		for round := 0; round < 20; round++ {
			followers := map[int64]int{}
			for id, d := range decided {
				if !s.down[id] && v.IsVoter(id) {
					followers[d.Leader]++
				}
			}
			var retry []int64
			for id, d := range decided {
				if s.down[id] {
					continue
				}
				leaderOK := !s.down[d.Leader] && s.nodes[d.Leader].State() == Leading && decided[d.Leader].Leader == d.Leader
				if !leaderOK || followers[d.Leader] <= len(voters)/2 {
					retry = append(retry, id)
				}
			}
			if len(retry) == 0 {
				break
			}
			for _, id := range retry {
				delete(decided, id)
				s.nodes[id].Look(s.now, h[id].zxid, h[id].epoch)
				s.flush(id)
			}
			for id, d := range s.run(5 * time.Minute) {
				decided[id] = d
			}
		}
		var want int64 = -1
		var best hist
		for _, id := range voters {
			if s.down[id] {
				continue
			}
			hh := h[id]
			if want == -1 || hh.epoch > best.epoch || (hh.epoch == best.epoch && (hh.zxid > best.zxid || (hh.zxid == best.zxid && id > want))) {
				want, best = id, hh
			}
		}
		var agreed int64 = -1
		for id := range s.nodes {
			if s.down[id] {
				continue
			}
			d, ok := decided[id]
			if !ok {
				t.Fatalf("seed %d: server %d did not decide (state %v)", seed, id, s.nodes[id].State())
			}
			if agreed == -1 {
				agreed = d.Leader
			}
			if d.Leader != agreed || !v.IsVoter(d.Leader) || s.down[d.Leader] {
				t.Fatalf("seed %d: server %d elected %d, others %d", seed, id, d.Leader, agreed)
			}
			if loss > 0 {
				want = agreed
			}
			if d.Leader != want {
				t.Fatalf("seed %d: server %d elected %d, want %d (%s)", seed, id, d.Leader, want, fmt.Sprint(h))
			}
			wantState := Following
			if id == want {
				wantState = Leading
			}
			if v.Members[id].Observer {
				wantState = Observing
			}
			if s.nodes[id].State() != wantState {
				t.Fatalf("seed %d: server %d state %v, want %v", seed, id, s.nodes[id].State(), wantState)
			}
		}
	}
}

// TestElectionJoinsRunningEnsemble checks a restarted server learns the
// leader of a running ensemble from FOLLOWING/LEADING answers.
func TestElectionJoinsRunningEnsemble(t *testing.T) {
	v := NewVerifier(members(3), 0)
	rng := rand.New(rand.NewSource(7))
	s := &electionSim{rng: rng, now: time.Unix(1000, 0), nodes: map[int64]*Election{}, down: map[int64]bool{}}
	for id := int64(1); id <= 3; id++ {
		s.nodes[id] = NewElection(ElectionConfig{ID: id, Verifier: v})
	}
	// 2 leads, 1 follows, in round 5 and epoch 3.
	s.nodes[2].clock, s.nodes[1].clock = 5, 5
	s.nodes[2].Stop(Leading)
	s.nodes[1].Stop(Following)
	lead := Vote{Version: 2, Leader: 2, Zxid: 3 << 32, ElectionEpoch: 5, PeerEpoch: 3}
	s.nodes[2].SetCurrent(lead)
	s.nodes[1].SetCurrent(lead)
	// 3 comes back with an old history and a fresh round counter.
	s.nodes[3].Look(s.now, 1<<32|9, 1)
	s.flush(3)
	decided := s.run(time.Minute)
	if d, ok := decided[3]; !ok || d.Leader != 2 || s.nodes[3].State() != Following || d.PeerEpoch != 3 {
		t.Fatalf("server 3 decided %+v ok=%v state %v", d, ok, s.nodes[3].State())
	}
}

// TestElectionVoteBeforeLooking replays a race seen when a leader dies:
// server 3 notices first and its vote reaches server 1 while 1 still
// follows; 1 starts looking 2 ms later. The early vote must count in 1's
// round, so both settle after one finalize wait instead of after
// notification timeouts (which took an election from ~250 to ~650 ms).
func TestElectionVoteBeforeLooking(t *testing.T) {
	v := NewVerifier(members(3), 0)
	start := time.Unix(1000, 0)
	e1 := NewElection(ElectionConfig{ID: 1, Verifier: v})
	e3 := NewElection(ElectionConfig{ID: 3, Verifier: v})
	lead := Vote{Version: 2, Leader: 2, Zxid: 6<<32 | 12, ElectionEpoch: 6, PeerEpoch: 6}
	for _, e := range []*Election{e1, e3} {
		e.clock = 6
		e.Stop(Following)
		e.SetCurrent(lead)
	}
	send := func(now time.Time, from, to *Election, fromID int64) {
		out, _ := from.Ready()
		for _, env := range out {
			if env.To == to.cfg.ID {
				to.Step(now, fromID, env.N)
			}
		}
	}
	e3.Look(start, 6<<32|12, 6)
	send(start.Add(time.Millisecond), e3, e1, 3) // 1 still follows: it answers
	send(start.Add(time.Millisecond), e1, e3, 1)
	t1 := start.Add(2 * time.Millisecond)
	e1.Look(t1, 6<<32|12, 6)
	send(t1.Add(time.Millisecond), e1, e3, 1)
	send(t1.Add(2*time.Millisecond), e3, e1, 3)
	send(t1.Add(3*time.Millisecond), e1, e3, 1)
	done := t1.Add(e1.cfg.FinalizeWait + 5*time.Millisecond)
	e1.Tick(done)
	e3.Tick(done)
	_, d1 := e1.Ready()
	_, d3 := e3.Ready()
	if d1 == nil || d3 == nil || d1.Leader != 3 || d3.Leader != 3 {
		t.Fatalf("after one finalize wait: server 1 decided %+v, server 3 %+v", d1, d3)
	}
}
