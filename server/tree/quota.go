package tree

import (
	"sort"
	"strconv"
	"strings"
)

// Quota node names under /zookeeper/quota<path>/.
const (
	QuotaLimitNode = "zookeeper_limits"
	QuotaStatNode  = "zookeeper_stats"
)

// quotaIndex is the set of paths that carry a quota (ZooKeeper's pTrie).
type quotaIndex map[string]struct{}

// StatsTrack is the "count=N,bytes=M[,key=value...]" text of a quota
// limits or stats node.
type StatsTrack map[string]int64

// ParseStatsTrack reads a StatsTrack; unparsable entries are ignored.
func ParseStatsTrack(b []byte) StatsTrack {
	st := StatsTrack{}
	for _, kv := range strings.Split(string(b), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			st[strings.TrimSpace(k)] = n
		}
	}
	return st
}

// Get returns a value, -1 when absent as StatsTrack.getValue does.
func (s StatsTrack) Get(k string) int64 {
	if v, ok := s[k]; ok {
		return v
	}
	return -1
}

// String formats count and bytes first, then other keys sorted.
func (s StatsTrack) String() string {
	var b strings.Builder
	b.WriteString("count=" + strconv.FormatInt(s.Get("count"), 10))
	b.WriteString(",bytes=" + strconv.FormatInt(s.Get("bytes"), 10))
	keys := make([]string, 0, len(s))
	for k := range s {
		if k != "count" && k != "bytes" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString("," + k + "=" + strconv.FormatInt(s[k], 10))
	}
	return b.String()
}

// QuotaPrefix returns the deepest path at or above path that has a
// quota, or "" when none does.
func (t *DataTree) QuotaPrefix(path string) string {
	if len(t.quotas) == 0 {
		return ""
	}
	for p := path; p != "/" && p != ""; p = Parent(p) {
		if _, ok := t.quotas[p]; ok {
			return p
		}
	}
	return ""
}

// QuotaLimits returns the limits of a quota path.
func (t *DataTree) QuotaLimits(prefix string) StatsTrack {
	n := t.get(QuotaPath + prefix + "/" + QuotaLimitNode)
	if n == nil {
		return nil
	}
	return ParseStatsTrack(n.Data())
}

// QuotaStats returns the usage of a quota path.
func (t *DataTree) QuotaStats(prefix string) StatsTrack {
	n := t.get(QuotaPath + prefix + "/" + QuotaStatNode)
	if n == nil {
		return nil
	}
	return ParseStatsTrack(n.Data())
}

func trimQuotaPath(p string) string { return strings.TrimPrefix(p, QuotaPath) }

func (t *DataTree) quotaCreated(path, parentPath, name string, data []byte) {
	if strings.HasPrefix(parentPath, QuotaPath) {
		switch name {
		case QuotaLimitNode:
			if t.quotas == nil {
				t.quotas = quotaIndex{}
			}
			t.quotas[trimQuotaPath(parentPath)] = struct{}{}
		case QuotaStatNode:
			t.recountQuota(trimQuotaPath(parentPath))
		}
	}
	if p := t.QuotaPrefix(path); p != "" {
		t.updateQuotaStat(p, int64(len(data)), 1)
	}
}

func (t *DataTree) quotaDeleted(path, parentPath, name string, data []byte) {
	if strings.HasPrefix(parentPath, ZookeeperPath) && name == QuotaLimitNode {
		delete(t.quotas, trimQuotaPath(parentPath))
	}
	if p := t.QuotaPrefix(path); p != "" {
		t.updateQuotaStat(p, -int64(len(data)), -1)
	}
}

func (t *DataTree) quotaDataChanged(path string, old, data []byte) {
	if p := t.QuotaPrefix(path); p != "" {
		t.updateQuotaStat(p, int64(len(data)-len(old)), 0)
	}
}

// updateQuotaStat changes a stats node's text in place, without touching
// its Stat, as ZooKeeper does.
func (t *DataTree) updateQuotaStat(prefix string, bytes, count int64) {
	n := t.get(QuotaPath + prefix + "/" + QuotaStatNode)
	if n == nil {
		return
	}
	st := ParseStatsTrack(n.Data())
	st["count"] = st.Get("count") + count
	st["bytes"] = st.Get("bytes") + bytes
	n.setData([]byte(st.String()))
}

// recountQuota sets a stats node from a walk of the quota'd subtree.
func (t *DataTree) recountQuota(prefix string) {
	statPath := QuotaPath + prefix + "/" + QuotaStatNode
	sn := t.get(statPath)
	if sn == nil {
		return
	}
	var count, bytes int64
	if root := t.get(prefix); root != nil {
		t.walk(prefix, root, func(_ string, n *Node) bool {
			count++
			bytes += int64(len(n.Data()))
			return true
		})
	}
	st := StatsTrack{"count": count, "bytes": bytes}
	t.preChange(statPath, sn)
	sn.setData([]byte(st.String()))
	t.postChange(statPath, sn)
}

// setupQuota rebuilds the quota index and stats after a snapshot load.
func (t *DataTree) setupQuota() {
	t.quotas = nil
	qroot := t.get(QuotaPath)
	if qroot == nil {
		return
	}
	var found []string
	t.walk(QuotaPath, qroot, func(p string, n *Node) bool {
		if _, name := Split(p); name == QuotaLimitNode {
			found = append(found, trimQuotaPath(Parent(p)))
		}
		return true
	})
	for _, p := range found {
		if t.quotas == nil {
			t.quotas = quotaIndex{}
		}
		t.quotas[p] = struct{}{}
		t.recountQuota(p)
	}
}
