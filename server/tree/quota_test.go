package tree

import (
	"reflect"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

func TestStatsTrack(t *testing.T) {
	tests := []struct {
		in   string
		want StatsTrack
		out  string
	}{
		{"count=1,bytes=2", StatsTrack{"count": 1, "bytes": 2}, "count=1,bytes=2"},
		{"count=-1,bytes=-1", StatsTrack{"count": -1, "bytes": -1}, "count=-1,bytes=-1"},
		// 3.8's hard limits: count and bytes first, then the rest sorted.
		{"countHardLimit=5,count=-1,byteHardLimit=-1,bytes=10", StatsTrack{"count": -1, "bytes": 10, "countHardLimit": 5, "byteHardLimit": -1},
			"count=-1,bytes=10,byteHardLimit=-1,countHardLimit=5"},
		{"", StatsTrack{}, "count=-1,bytes=-1"},
		{"bytes=7", StatsTrack{"bytes": 7}, "count=-1,bytes=7"},
		{"count=x,bytes=3,junk", StatsTrack{"bytes": 3}, "count=-1,bytes=3"},
		{" count = 4 ,bytes=5", StatsTrack{"count": 4, "bytes": 5}, "count=4,bytes=5"},
	}
	for _, tc := range tests {
		got := ParseStatsTrack([]byte(tc.in))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %v", tc.in, got)
		}
		if s := got.String(); s != tc.out {
			t.Errorf("String(%q) = %q, want %q", tc.in, s, tc.out)
		}
	}
	if (StatsTrack{}).Get("count") != -1 || (StatsTrack{"count": 3}).Get("count") != 3 {
		t.Error("Get")
	}
}

// quotaTree puts a quota on /q (count=10,bytes=100) the way setquota
// does: /zookeeper/quota/q, then zookeeper_limits, then zookeeper_stats.
func quotaTree(t *testing.T) (*DataTree, *int64) {
	t.Helper()
	tr := New()
	zxid := int64(0)
	create := func(p string, data string) {
		zxid++
		if r := tr.ProcessTxn(txn(wire.OpCreate, 0, zxid, &jute.CreateTxn{Path: p, Data: []byte(data), ACL: OpenACLUnsafe, ParentCVersion: -1})); r.Err != wire.ErrOK {
			t.Fatalf("create %s: %v", p, r.Err)
		}
	}
	create("/q", "12345")
	create("/q/a", "1")
	create("/other", "zz")
	create(QuotaPath+"/q", "")
	create(QuotaPath+"/q/"+QuotaLimitNode, "count=10,bytes=100")
	if got := tr.QuotaPrefix("/q/a"); got != "/q" {
		t.Fatalf("QuotaPrefix after the limits node: %q", got)
	}
	create(QuotaPath+"/q/"+QuotaStatNode, "count=0,bytes=0")
	return tr, &zxid
}

func TestQuotaStats(t *testing.T) {
	tr, zxid := quotaTree(t)
	stats := func() string { return tr.QuotaStats("/q").String() }
	// Creating the stats node counts the subtree as it is.
	if s := stats(); s != "count=2,bytes=6" {
		t.Fatalf("initial stats %q", s)
	}
	if l := tr.QuotaLimits("/q"); l.Get("count") != 10 || l.Get("bytes") != 100 {
		t.Fatalf("limits %v", l)
	}
	statNode := tr.Node(QuotaPath + "/q/" + QuotaStatNode)
	statBefore := statNode.Stat
	step := func(x *wire.Txn, want string) {
		t.Helper()
		if r := tr.ProcessTxn(x); r.Err != wire.ErrOK {
			t.Fatalf("%v: %v", x.Type(), r.Err)
		}
		if s := stats(); s != want {
			t.Fatalf("after %v: %q, want %q", x.Type(), s, want)
		}
	}
	next := func() int64 { *zxid++; return *zxid }
	step(txn(wire.OpCreate, 0, next(), &jute.CreateTxn{Path: "/q/a/b", Data: []byte("abc"), ParentCVersion: -1}), "count=3,bytes=9")
	step(txn(wire.OpSetData, 0, next(), &jute.SetDataTxn{Path: "/q/a/b", Data: []byte("abcde"), Version: 1}), "count=3,bytes=11")
	step(txn(wire.OpSetData, 0, next(), &jute.SetDataTxn{Path: "/q", Data: nil, Version: 1}), "count=3,bytes=6")
	step(txn(wire.OpDelete, 0, next(), &jute.DeleteTxn{Path: "/q/a/b"}), "count=2,bytes=1")
	step(txn(wire.OpCreate, 0, next(), &jute.CreateTxn{Path: "/other/x", Data: []byte("123"), ParentCVersion: -1}), "count=2,bytes=1")
	step(txn(wire.OpMulti, 0, next(), &jute.MultiTxn{Txns: []jute.Txn{
		sub(wire.OpCreate, &jute.CreateTxn{Path: "/q/m", Data: []byte("mm"), ParentCVersion: -1}),
		sub(wire.OpSetData, &jute.SetDataTxn{Path: "/q/a", Data: []byte("1234"), Version: 1}),
	}}), "count=3,bytes=6")
	// A failed op leaves the stats alone.
	tr.ProcessTxn(txn(wire.OpCreate, 0, next(), &jute.CreateTxn{Path: "/q/a", Data: []byte("xxxxxxxx"), ParentCVersion: -1}))
	if s := stats(); s != "count=3,bytes=6" {
		t.Fatalf("failed create changed stats: %q", s)
	}
	// The stats node's own Stat does not move: ZooKeeper rewrites its
	// data in place.
	if statNode.Stat != statBefore {
		t.Fatalf("stats node stat %+v, was %+v", statNode.Stat, statBefore)
	}
	checkInvariants(t, tr)

	// Deleting the limits node removes the quota.
	step(txn(wire.OpDelete, 0, next(), &jute.DeleteTxn{Path: QuotaPath + "/q/" + QuotaLimitNode}), "count=3,bytes=6")
	if tr.QuotaPrefix("/q/a") != "" {
		t.Fatal("quota still indexed")
	}
	step(txn(wire.OpCreate, 0, next(), &jute.CreateTxn{Path: "/q/n", Data: []byte("n"), ParentCVersion: -1}), "count=3,bytes=6")
}

func TestQuotaPrefixDeepest(t *testing.T) {
	tr := New()
	tr.quotas = quotaIndex{"/a": {}, "/a/b/c": {}}
	tests := map[string]string{
		"/a": "/a", "/a/x": "/a", "/a/b": "/a", "/a/b/c": "/a/b/c", "/a/b/c/d/e": "/a/b/c",
		"/ab": "", "/": "", "/b/a": "", "/a/b/cd": "/a",
	}
	for p, want := range tests {
		if got := tr.QuotaPrefix(p); got != want {
			t.Errorf("QuotaPrefix(%q) = %q, want %q", p, got, want)
		}
	}
	if New().QuotaPrefix("/a") != "" {
		t.Error("no quotas")
	}
}

// TestQuotaSetupAfterSnapshot: the quota index and the stats are rebuilt
// from the nodes of a snapshot (DataTree.setupQuota), whatever the stats
// node held.
func TestQuotaSetupAfterSnapshot(t *testing.T) {
	tr, _ := quotaTree(t)
	// Stale stats in the stored node.
	tr.Node(QuotaPath + "/q/" + QuotaStatNode).setData([]byte("count=99,bytes=99"))
	back := roundTrip(t, tr)
	if got := back.QuotaPrefix("/q/a"); got != "/q" {
		t.Fatalf("quota index after load: %q", got)
	}
	if s := back.QuotaStats("/q").String(); s != "count=2,bytes=6" {
		t.Fatalf("stats after load %q", s)
	}
	checkInvariants(t, back)
}
