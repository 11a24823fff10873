package compat

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"zkd/jute"
	"zkd/wire"
)

// normalizer maps the values that legitimately differ between two servers
// to stable names, in order of first appearance within one transcript:
// zxids to Z1, Z2, ... (0 and -1 kept), session ids to s1, s2, ... (0
// kept), and non-zero times to "t".
type normalizer struct {
	zxids     map[int64]int
	sessions  map[int64]int
	hideStats bool // render Stats as stat{...}, for scenarios about something else
}

func newNormalizer() *normalizer {
	return &normalizer{zxids: map[int64]int{}, sessions: map[int64]int{}}
}

func (n *normalizer) zxid(z int64) string {
	if z == 0 || z == -1 {
		return strconv.FormatInt(z, 10)
	}
	i, ok := n.zxids[z]
	if !ok {
		i = len(n.zxids) + 1
		n.zxids[z] = i
	}
	return "Z" + strconv.Itoa(i)
}

func (n *normalizer) session(id int64) string {
	if id == 0 {
		return "0"
	}
	i, ok := n.sessions[id]
	if !ok {
		i = len(n.sessions) + 1
		n.sessions[id] = i
	}
	return "s" + strconv.Itoa(i)
}

// owner renders a Stat's ephemeralOwner: session ids are normalized; TTL
// (0xFF in the top byte) and container (Long.MIN_VALUE) markers are kept.
func (n *normalizer) owner(o int64) string {
	switch {
	case o == 0:
		return "0"
	case o == math.MinInt64:
		return "container(0x8000000000000000)"
	case uint64(o)>>56 == 0xff:
		return fmt.Sprintf("ttl(0x%016x)", uint64(o))
	}
	return n.session(o)
}

func timeStr(t int64) string {
	if t == 0 {
		return "0"
	}
	return "t"
}

func (n *normalizer) stat(s *jute.Stat) string {
	if n.hideStats {
		return "stat{...}"
	}
	return fmt.Sprintf("stat{cz=%s mz=%s pz=%s ct=%s mt=%s v=%d cv=%d av=%d owner=%s len=%d nch=%d}",
		n.zxid(s.Czxid), n.zxid(s.Mzxid), n.zxid(s.Pzxid), timeStr(s.Ctime), timeStr(s.Mtime),
		s.Version, s.Cversion, s.Aversion, n.owner(s.EphemeralOwner), s.DataLength, s.NumChildren)
}

// dataStr renders a buffer: null, a quoted string, or hex for binary data.
func dataStr(b []byte) string {
	if b == nil {
		return "null"
	}
	if utf8.Valid(b) && !bytes.ContainsAny(b, "\x00") && len(b) <= 200 {
		return strconv.Quote(string(b))
	}
	if len(b) > 64 {
		return fmt.Sprintf("<%d bytes %s...>", len(b), hex.EncodeToString(b[:32]))
	}
	return "0x" + hex.EncodeToString(b)
}

func aclStr(acl []jute.ACL) string {
	if acl == nil {
		return "null"
	}
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = fmt.Sprintf("%d:%s:%s", a.Perms, a.ID.Scheme, a.ID.ID)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// strsStr renders a string vector; sorted when the server's order is a
// hash set's.
func strsStr(v []string, sorted bool) string {
	if v == nil {
		return "null"
	}
	if sorted {
		v = append([]string(nil), v...)
		sort.Strings(v)
	}
	return "[" + strings.Join(v, ",") + "]"
}

func errName(code int32) string { return wire.Error(code).Name() }

// record renders a decoded response record.
func (n *normalizer) record(r jute.Record) string {
	switch r := r.(type) {
	case *jute.CreateResponse:
		return "path=" + r.Path
	case *jute.Create2Response:
		return "path=" + r.Path + " " + n.stat(&r.Stat)
	case *jute.ExistsResponse:
		return n.stat(&r.Stat)
	case *jute.GetDataResponse:
		return "data=" + dataStr(r.Data) + " " + n.stat(&r.Stat)
	case *jute.SetDataResponse:
		return n.stat(&r.Stat)
	case *jute.GetACLResponse:
		return "acl=" + aclStr(r.ACL) + " " + n.stat(&r.Stat)
	case *jute.SetACLResponse:
		return n.stat(&r.Stat)
	case *jute.GetChildrenResponse:
		return "children=" + strsStr(r.Children, true)
	case *jute.GetChildren2Response:
		return "children=" + strsStr(r.Children, true) + " " + n.stat(&r.Stat)
	case *jute.SyncResponse:
		return "path=" + r.Path
	case *jute.GetEphemeralsResponse:
		return "ephemerals=" + strsStr(r.Ephemerals, true)
	case *jute.GetAllChildrenNumberResponse:
		return "total=" + strconv.Itoa(int(r.TotalNumber))
	case *jute.ErrorResponse:
		return "errBody=" + errName(r.Err)
	case *jute.SetSASLResponse:
		return "token=" + dataStr(r.Token)
	case *jute.WhoAmIResponse:
		if r.ClientInfo == nil {
			return "clientInfo=null"
		}
		// Sorted: ZooKeeper keeps a connection's auth ids in a set
		// backed by a ConcurrentHashMap.
		parts := make([]string, len(r.ClientInfo))
		for i, c := range r.ClientInfo {
			parts[i] = c.AuthScheme + ":" + c.User
		}
		sort.Strings(parts)
		return "clientInfo=[" + strings.Join(parts, ",") + "]"
	case *wire.MultiResponse:
		parts := make([]string, len(r.Results))
		for i, res := range r.Results {
			s := res.Type.String()
			if res.Type == wire.OpError {
				s += "(" + res.Err.Name() + ")"
			}
			if res.Record != nil {
				s += "{" + n.record(res.Record) + "}"
			}
			parts[i] = s
		}
		return "results=[" + strings.Join(parts, " ; ") + "]"
	}
	return fmt.Sprintf("%T", r)
}

// reply renders the body of a reply to op whose header said err.
func (n *normalizer) reply(op wire.OpCode, errCode int32, body []byte) string {
	if errCode != 0 {
		if len(body) == 0 {
			return ""
		}
		return fmt.Sprintf(" body(%dB)=0x%s", len(body), hex.EncodeToString(body))
	}
	rec := responseRecord(op)
	if rec == nil {
		if len(body) == 0 {
			return ""
		}
		return fmt.Sprintf(" unexpected body(%dB)=0x%s", len(body), hex.EncodeToString(body))
	}
	if len(body) == 0 {
		return " <no body>"
	}
	d := jute.NewDecoder(body)
	rec.Decode(d)
	if d.Err() != nil {
		return fmt.Sprintf(" <decode %T: %v> body(%dB)=0x%s", rec, d.Err(), len(body), hex.EncodeToString(body))
	}
	s := " " + n.record(rec)
	if d.Remaining() > 0 {
		s += fmt.Sprintf(" +%d trailing bytes 0x%s", d.Remaining(), hex.EncodeToString(d.Rest()))
	}
	return s
}

// event renders a notification body.
func (n *normalizer) event(hdrZxid int64, body []byte) string {
	var ev jute.WatcherEvent
	d := jute.NewDecoder(body)
	ev.Decode(d)
	if d.Err() != nil {
		return fmt.Sprintf("event <decode: %v> 0x%s", d.Err(), hex.EncodeToString(body))
	}
	s := fmt.Sprintf("event %s %s state=%d zxid=%s", wire.EventType(ev.Type), ev.Path, ev.State, n.zxid(hdrZxid))
	if d.Remaining() > 0 {
		s += fmt.Sprintf(" +%d trailing bytes", d.Remaining())
	}
	return s
}

// diffTranscripts reports whether two transcripts differ and renders them
// side by side, aligned on their longest common subsequence of lines:
// '|' marks a changed line, '<' a line only ZooKeeper sent, '>' a line
// only zkd sent.
func diffTranscripts(a, b []string, nameA, nameB string) (bool, string) {
	const w = 78
	type row struct {
		l, r string
		mark string
	}
	// lcs[i][j] = length of the LCS of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var rows []row
	var onlyA, onlyB []string
	flush := func() {
		// Pair up a run of removed and added lines as changes.
		for k := 0; k < max(len(onlyA), len(onlyB)); k++ {
			switch {
			case k >= len(onlyA):
				rows = append(rows, row{"", onlyB[k], ">"})
			case k >= len(onlyB):
				rows = append(rows, row{onlyA[k], "", "<"})
			default:
				rows = append(rows, row{onlyA[k], onlyB[k], "|"})
			}
		}
		onlyA, onlyB = onlyA[:0], onlyB[:0]
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			flush()
			rows = append(rows, row{a[i], b[j], " "})
			i++
			j++
		case j >= len(b) || (i < len(a) && lcs[i+1][j] >= lcs[i][j+1]):
			onlyA = append(onlyA, a[i])
			i++
		default:
			onlyB = append(onlyB, b[j])
			j++
		}
	}
	flush()
	differs := false
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-*s   %s\n", w, nameA, nameB)
	fmt.Fprintf(&sb, "%s   %s\n", strings.Repeat("-", w), strings.Repeat("-", w))
	for _, rw := range rows {
		if rw.mark != " " {
			differs = true
		}
		lw, rr := wrap(rw.l, w), wrap(rw.r, w)
		for k := 0; k < max(len(lw), len(rr)); k++ {
			var x, y string
			if k < len(lw) {
				x = lw[k]
			}
			if k < len(rr) {
				y = rr[k]
			}
			m := rw.mark
			if k > 0 {
				m = " "
			}
			fmt.Fprintf(&sb, "%-*s %s %s\n", w, x, m, y)
		}
	}
	return differs, sb.String()
}

// wrap splits s into pieces of at most w runes (continuations indented).
func wrap(s string, w int) []string {
	r := []rune(s)
	if len(r) <= w {
		return []string{s}
	}
	out := []string{string(r[:w])}
	r = r[w:]
	for len(r) > 0 {
		k := min(len(r), w-2)
		out = append(out, "  "+string(r[:k]))
		r = r[k:]
	}
	return out
}
