// Package quorum is ZooKeeper's replication layer: FastLeaderElection and
// Zab as deterministic state machines (messages and ticks in, messages and
// storage actions out), and the transports that feed them.
package quorum

import (
	"net"
	"sort"
	"strconv"
	"strings"
)

// Member is one server.N line of the ensemble.
type Member struct {
	ID           int64
	Host         string
	QuorumPort   int
	ElectionPort int
	Observer     bool
	// ClientHost/ClientPort come from the ";[host:]port" suffix; empty when
	// the client address came from the static clientPort.
	ClientHost string
	ClientPort int
}

// QuorumAddr is host:quorumPort.
func (m Member) QuorumAddr() string { return net.JoinHostPort(m.Host, strconv.Itoa(m.QuorumPort)) }

// ElectionAddr is host:electionPort.
func (m Member) ElectionAddr() string { return net.JoinHostPort(m.Host, strconv.Itoa(m.ElectionPort)) }

// String is QuorumServer.toString: host:qp:ep:type[;clientHost:clientPort].
func (m Member) String() string {
	var b strings.Builder
	b.WriteString(bracket(m.Host))
	b.WriteString(":" + strconv.Itoa(m.QuorumPort) + ":" + strconv.Itoa(m.ElectionPort))
	if m.Observer {
		b.WriteString(":observer")
	} else {
		b.WriteString(":participant")
	}
	if m.ClientPort != 0 {
		h := m.ClientHost
		if h == "" {
			h = "0.0.0.0"
		}
		b.WriteString(";" + bracket(h) + ":" + strconv.Itoa(m.ClientPort))
	}
	return b.String()
}

func bracket(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// Verifier is QuorumMaj: a quorum is a strict majority of the voters.
type Verifier struct {
	Members map[int64]Member
	Version int64
	voters  int
}

// NewVerifier builds a majority verifier over members.
func NewVerifier(members []Member, version int64) *Verifier {
	v := &Verifier{Members: make(map[int64]Member, len(members)), Version: version}
	for _, m := range members {
		v.Members[m.ID] = m
		if !m.Observer {
			v.voters++
		}
	}
	return v
}

// IsVoter reports whether sid votes.
func (v *Verifier) IsVoter(sid int64) bool {
	m, ok := v.Members[sid]
	return ok && !m.Observer
}

// Weight is 1 for voters, 0 otherwise.
func (v *Verifier) Weight(sid int64) int {
	if v.IsVoter(sid) {
		return 1
	}
	return 0
}

// Voters returns the voting sids in ascending order.
func (v *Verifier) Voters() []int64 {
	out := make([]int64, 0, v.voters)
	for id, m := range v.Members {
		if !m.Observer {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// IDs returns every member sid in ascending order.
func (v *Verifier) IDs() []int64 {
	out := make([]int64, 0, len(v.Members))
	for id := range v.Members {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ContainsQuorum reports whether the voters in set are a majority.
func (v *Verifier) ContainsQuorum(set map[int64]bool) bool {
	n := 0
	for sid, in := range set {
		if in && v.IsVoter(sid) {
			n++
		}
	}
	return n > v.voters/2
}

// String is QuorumMaj.toString: one server line each, then the version in
// hex, the text peers exchange in election notifications and NEWLEADER.
func (v *Verifier) String() string {
	var b strings.Builder
	for _, id := range v.IDs() {
		b.WriteString("server." + strconv.FormatInt(id, 10) + "=" + v.Members[id].String() + "\n")
	}
	b.WriteString("version=" + strconv.FormatUint(uint64(v.Version), 16))
	return b.String()
}

// ParseConfigVersion extracts the version from config text, or -1.
func ParseConfigVersion(text string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "version="); ok {
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				return -1
			}
			return int64(n)
		}
	}
	return -1
}
