package compat

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// digestID is the id DigestAuthenticationProvider derives from
// "user:password": user:base64(sha1(user:password)).
func digestID(userPass string) string {
	h := sha1.Sum([]byte(userPass))
	user, _, _ := strings.Cut(userPass, ":")
	return user + ":" + base64.StdEncoding.EncodeToString(h[:])
}

func acl(perms int32, scheme, id string) jute.ACL {
	return jute.ACL{Perms: perms, ID: jute.Id{Scheme: scheme, ID: id}}
}

const (
	persistent  int32 = 0
	ephemeral   int32 = 1
	sequential  int32 = 2
	ephSeq      int32 = 3
	container   int32 = 4
	ttlFlag     int32 = 5
	ttlSeqFlag  int32 = 6
	maxTTL      int64 = 1<<40 - 1
	longTTL     int64 = 3600000
	anyVer      int32 = -1 // version: any
	persistentW       = wire.AddWatchPersistent
	recursiveW        = wire.AddWatchPersistentRecursive
)

// scenarios is the table of scripts run against both servers. Each works
// under its own prefix /s-<name>, created by r.start().
var scenarios = []scenario{
	// ---- create ----
	{name: "create-persistent", run: func(r *run) {
		a := r.start()
		a.create(r.p("/a"), "hello", openACL, persistent)
		a.getData(r.p("/a"), false)
		a.exists(r.p("/a"), false)
		a.create(r.p("/a"), "again", openACL, persistent)
		a.create(r.p("/missing/x"), "", openACL, persistent)
		a.create(r.p("/a/b"), "", openACL, persistent)
		a.create(r.p("/nulldata"), nullData, openACL, persistent)
		a.getData(r.p("/nulldata"), false)
		a.create(r.p("/empty"), "", openACL, persistent)
		a.getData(r.p("/empty"), false)
		a.getChildren2(r.prefix, false)
	}},
	{name: "create-ephemeral", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		b.create(r.p("/e"), "eph", openACL, ephemeral)
		a.exists(r.p("/e"), false)
		b.create(r.p("/e/child"), "", openACL, persistent)
		b.create(r.p("/e/eph"), "", openACL, ephemeral)
		a.create(r.p("/e/seq-"), "", openACL, sequential)
		a.create2(r.p("/e/c2"), "", openACL, persistent)
		a.multi(mCreate(r.p("/e/m"), "", openACL, persistent))
		b.create(r.p("/e"), "", openACL, ephemeral)
		b.getEphemerals("/")
		a.getChildren2(r.prefix, false)
		b.create(r.p("/e2"), "", openACL, ephemeral)
		a.delete(r.p("/e2"), anyVer) // another session may delete it
		b.getEphemerals("/")
		a.setData(r.p("/e"), "by A", anyVer)
		a.getData(r.p("/e"), false)
	}},
	{name: "create-sequential", run: func(r *run) {
		a := r.start()
		a.create(r.p("/q-"), "", openACL, sequential)
		a.create(r.p("/q-"), "", openACL, sequential)
		a.create(r.p("/x"), "", openACL, persistent)
		a.delete(r.p("/x"), anyVer)
		a.create(r.p("/q-"), "", openACL, sequential) // suffix = cversion 4
		a.create(r.p("/"), "", openACL, sequential)   // trailing slash allowed for sequential
		a.create2(r.p("/q2-"), "", openACL, sequential)
		a.create(r.p("/q-"), "", openACL, sequential)
		a.getChildren(r.prefix, false)
		a.create(r.p("/sub"), "", openACL, persistent)
		a.create(r.p("/sub/"), "", openACL, sequential)
	}},
	{name: "create-ephemeral-sequential", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		b.create(r.p("/lock-"), "", openACL, ephSeq)
		a.create(r.p("/lock-"), "", openACL, ephSeq)
		b.create2(r.p("/lock-"), "x", openACL, ephSeq)
		a.getChildren2(r.prefix, false)
		a.exists(r.p("/lock-0000000000"), false)
		a.exists(r.p("/lock-0000000002"), false)
		b.getEphemerals(r.prefix)
		a.getEphemerals(r.prefix)
	}},
	{name: "create-container", run: func(r *run) {
		a := r.start()
		a.createOp(wire.OpCreateContainer, r.p("/c"), []byte("c"), openACL, container)
		a.exists(r.p("/c"), false)
		a.create(r.p("/c/child"), "", openACL, persistent)
		a.getChildren2(r.p("/c"), false)
		a.createOp(wire.OpCreate, r.p("/c1"), nil, openACL, container)
		a.createOp(wire.OpCreate2, r.p("/c2"), nil, openACL, container)
		a.createOp(wire.OpCreateContainer, r.p("/c3"), nil, openACL, persistent)
		a.createOp(wire.OpCreateContainer, r.p("/c4"), nil, openACL, ephemeral)
		a.createOp(wire.OpCreateContainer, r.p("/c"), nil, openACL, container)
		a.createOp(wire.OpCreateContainer, r.p("/nope/c"), nil, openACL, container)
		a.multi(mCreateOp(wire.OpCreateContainer, r.p("/mc"), "", openACL, container))
		a.exists(r.p("/mc"), false)
	}},
	{name: "create-ttl", run: func(r *run) {
		a := r.start()
		a.createTTL(r.p("/ttl"), "t", openACL, ttlFlag, longTTL)
		a.exists(r.p("/ttl"), false)
		a.createTTL(r.p("/ttls-"), "", openACL, ttlSeqFlag, longTTL)
		a.createTTL(r.p("/max"), "", openACL, ttlFlag, maxTTL)
		a.exists(r.p("/max"), false)
		a.createTTL(r.p("/zero"), "", openACL, ttlFlag, 0)
		a.createTTL(r.p("/neg"), "", openACL, ttlFlag, -5)
		a.createTTL(r.p("/big"), "", openACL, ttlFlag, maxTTL+1)
		// createTTL with a non-TTL mode and ttl -1 passes ZooKeeper
		// 3.8.0's validation and then kills the server (exit status 2):
		// not scripted here.
		a.createTTL(r.p("/plain2"), "", openACL, persistent, 1000)
		a.createTTL(r.p("/eph"), "", openACL, ephemeral, longTTL)
		a.createTTL(r.p("/ttl"), "", openACL, ttlFlag, longTTL)
		a.createTTL(r.p("/nope/x"), "", openACL, ttlFlag, longTTL)
		a.createOp(wire.OpCreate, r.p("/viaCreate"), nil, openACL, ttlFlag)
		a.createOp(wire.OpCreate2, r.p("/viaCreate2"), nil, openACL, ttlSeqFlag)
		a.multi(mCreateTTL(r.p("/mttl"), "", ttlFlag, longTTL))
		a.multi(mCreateTTL(r.p("/mttl0"), "", ttlFlag, 0))
		a.getChildren2(r.prefix, false)
	}},
	{name: "create-ttl-disabled", pair: "plain", run: func(r *run) {
		a := r.start()
		a.createTTL(r.p("/ttl"), "", openACL, ttlFlag, longTTL)
		a.createTTL(r.p("/ttl0"), "", openACL, ttlFlag, 0)
		a.createOp(wire.OpCreate, r.p("/viaCreate"), nil, openACL, ttlFlag)
		a.createOp(wire.OpCreate2, r.p("/viaCreate2"), nil, openACL, ttlSeqFlag)
		a.multi(mCreateTTL(r.p("/mttl"), "", ttlFlag, longTTL))
		a.getChildren(r.prefix, false)
	}},
	{name: "create-bad-flags", run: func(r *run) {
		a := r.start()
		a.create(r.p("/f7"), "", openACL, 7)
		a.create(r.p("/fneg"), "", openACL, -1)
		a.create(r.p("/f100"), "", openACL, 100)
		a.create2(r.p("/f7"), "", openACL, 7)
		a.multi(mCreate(r.p("/m7"), "", openACL, 7))
		a.getChildren(r.prefix, false)
	}},
	{name: "create-bad-paths", run: func(r *run) {
		a := r.start()
		for _, p := range []string{"a", "", "/", r.p("/a/"), "/" + r.p(""), r.p("//a"), r.p("/./b"), r.p("/../b"),
			r.p("/."), r.p("/.."), r.p("/x\x00y"), r.p("/x\x01y"), r.p("/x\u007fy"), r.p("/x\ufff5y"), r.p("/.hidden"), r.p("/a.b"), r.p("/"), r.p("//"), r.p("/.hidden/")} {
			a.create(p, "", openACL, persistent)
		}
		a.create("/zookeeper", "", openACL, persistent)
		a.create("/zookeeper/s-create-bad-paths", "", openACL, persistent)
		a.delete("/zookeeper/s-create-bad-paths", anyVer)
		a.create("/zookeeper/quota/s-create-bad-paths", "", openACL, persistent)
		a.delete("/zookeeper/quota/s-create-bad-paths", anyVer)
		a.getChildren(r.prefix, false)
	}},
	{name: "create-bad-acl", run: func(r *run) {
		a := r.start()
		a.create(r.p("/empty"), "", []jute.ACL{}, persistent)
		a.create(r.p("/null"), "", nil, persistent)
		a.create(r.p("/scheme"), "", []jute.ACL{acl(31, "foo", "bar")}, persistent)
		a.create(r.p("/world"), "", []jute.ACL{acl(31, "world", "someone")}, persistent)
		a.create(r.p("/auth"), "", creatorACL, persistent)
		a.create(r.p("/ip"), "", []jute.ACL{acl(31, "ip", "not-an-ip")}, persistent)
		a.create(r.p("/ipok"), "", []jute.ACL{acl(31, "ip", "10.0.0.0/8"), acl(31, "world", "anyone")}, persistent)
		a.create(r.p("/digest"), "", []jute.ACL{acl(31, "digest", "nocolon")}, persistent)
		a.create(r.p("/digestok"), "", []jute.ACL{acl(31, "digest", digestID("u:p"))}, persistent)
		a.create(r.p("/perms0"), "", []jute.ACL{acl(0, "world", "anyone")}, persistent)
		a.create(r.p("/perms64"), "", []jute.ACL{acl(64, "world", "anyone")}, persistent)
		a.getACL(r.p("/perms64"))
		a.create(r.p("/dup"), "", []jute.ACL{acl(31, "world", "anyone"), acl(1, "world", "anyone")}, persistent)
		a.getACL(r.p("/dup"))
		a.getChildren(r.prefix, false)
	}},
	{name: "create2", run: func(r *run) {
		a := r.start()
		a.create2(r.p("/a"), "data", openACL, persistent)
		a.create2(r.p("/a"), "data", openACL, persistent)
		a.create2(r.p("/e"), "", openACL, ephemeral)
		a.create2(r.p("/s-"), "", openACL, sequential)
		a.create2(r.p("/a/b"), "", openACL, persistent)
		a.exists(r.p("/a"), false)
		a.create2(r.p("/nope/b"), "", openACL, persistent)
	}},

	// ---- delete ----
	{name: "delete", run: func(r *run) {
		a := r.start()
		a.create(r.p("/a"), "", openACL, persistent)
		a.create(r.p("/a/b"), "", openACL, persistent)
		a.delete(r.p("/nope"), anyVer)
		a.delete(r.p("/a"), anyVer)
		a.delete(r.p("/a/b"), 3)
		a.setData(r.p("/a/b"), "x", anyVer)
		a.delete(r.p("/a/b"), 0)
		a.delete(r.p("/a/b"), 1)
		a.exists(r.p("/a/b"), false)
		a.getChildren(r.p("/a"), false)
		a.delete(r.p("/a"), 0)
		a.getChildren(r.prefix, false)
		a.delete("/", anyVer)
		a.delete("/zookeeper", anyVer)
		a.delete("/zookeeper/quota", anyVer)
		a.delete("/zookeeper/config", anyVer)
		a.delete("a", anyVer)
		a.delete(r.p("/a/"), anyVer)
		a.delete("", anyVer)
	}},

	{name: "cversion", run: func(r *run) {
		// The Stat's cversion as clients see it counts creates and
		// deletes of children; sequential suffixes use creates only.
		a := r.start()
		a.create(r.p("/p"), "", openACL, persistent)
		a.create(r.p("/p/a"), "", openACL, persistent)
		a.create(r.p("/p/b"), "", openACL, persistent)
		a.exists(r.p("/p"), false)
		a.delete(r.p("/p/a"), anyVer)
		a.exists(r.p("/p"), false)
		a.getChildren2(r.p("/p"), false)
		a.create(r.p("/p/s-"), "", openACL, sequential)
		a.setData(r.p("/p"), "x", anyVer)
		a.delete(r.p("/p/b"), anyVer)
		a.getData(r.p("/p"), false)
		a.multi(mCreate(r.p("/p/m"), "", openACL, persistent), mDelete(r.p("/p/m"), anyVer))
		a.getACL(r.p("/p"))
		a.setACL(r.p("/p"), openACL, anyVer)
		a.create(r.p("/p/s-"), "", openACL, sequential)
		a.getChildren2(r.p("/p"), false)
	}},

	// ---- exists / getData / setData ----
	{name: "exists-watch", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		b.exists(r.p("/x"), true)
		a.create(r.p("/x"), "1", openACL, persistent)
		b.events()
		b.exists(r.p("/x"), false)
		a.setData(r.p("/x"), "2", anyVer)
		b.events() // no watch left
		b.exists(r.p("/x"), true)
		a.setData(r.p("/x"), "3", anyVer)
		b.events()
		b.exists(r.p("/x"), true)
		a.delete(r.p("/x"), anyVer)
		b.events()
		b.exists(r.p("/x"), true)
		b.exists(r.p("/x"), true) // one watch, one event
		a.create(r.p("/x"), "", openACL, persistent)
		b.events()
		a.exists(r.p("/x"), true)
		a.delete(r.p("/x"), anyVer) // own watch: event before the reply
		a.exists("bad", true)
	}},
	{name: "getdata-setdata", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/d"), "v0", openACL, persistent)
		a.setData(r.p("/d"), "v1", 0)
		a.setData(r.p("/d"), "v2", 0)
		a.setData(r.p("/d"), "v2", 1)
		a.setData(r.p("/d"), "v3", anyVer)
		a.setData(r.p("/d"), nullData, anyVer)
		a.getData(r.p("/d"), false)
		a.setData(r.p("/d"), "", anyVer)
		a.getData(r.p("/d"), false)
		a.setData(r.p("/d"), "v", -2)
		a.setData(r.p("/nope"), "x", anyVer)
		a.getData(r.p("/nope"), false)
		b.getData(r.p("/d"), true)
		a.setData(r.p("/d"), "w1", anyVer)
		b.events()
		a.setData(r.p("/d"), "w2", anyVer)
		b.events()
		b.getData(r.p("/d"), true)
		a.delete(r.p("/d"), anyVer)
		b.events()
		b.getData(r.p("/gone"), true) // NONODE: no watch is left
		a.create(r.p("/gone"), "", openACL, persistent)
		b.events()
		a.setDataBytes(r.p("/bin"), []byte{0, 1, 2, 255}, anyVer)
		a.create(r.p("/bin"), "", openACL, persistent)
		a.setDataBytes(r.p("/bin"), []byte{0, 1, 2, 255}, anyVer)
		a.getData(r.p("/bin"), false)
		a.getData("bad/", false)
	}},
	{name: "setdata-large", run: func(r *run) {
		a := r.start()
		a.create(r.p("/big"), "", openACL, persistent)
		a.setDataBytes(r.p("/big"), make([]byte, 1000000), anyVer)
		a.exists(r.p("/big"), false)
		a.setDataBytes(r.p("/big"), make([]byte, 1048576), anyVer)
		a.expectClosed()
	}},

	// ---- getChildren ----
	{name: "getchildren-watch", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/p"), "", openACL, persistent)
		b.getChildren(r.p("/p"), true)
		a.create(r.p("/p/c1"), "", openACL, persistent)
		b.events()
		b.getChildren2(r.p("/p"), true)
		a.setData(r.p("/p"), "x", anyVer) // no child event
		a.setData(r.p("/p/c1"), "x", anyVer)
		b.events()
		a.delete(r.p("/p/c1"), anyVer)
		b.events()
		b.getChildren(r.p("/p"), true)
		a.delete(r.p("/p"), anyVer) // child watcher gets NodeDeleted
		b.events()
		b.getChildren(r.p("/nope"), true)
		b.getChildren2(r.p("/nope"), true)
		a.create(r.p("/nope"), "", openACL, persistent)
		b.events()
		a.create(r.p("/q"), "", openACL, persistent)
		b.getChildren(r.p("/q"), true)
		b.getData(r.p("/q"), true)
		b.exists(r.p("/q"), true)
		a.create(r.p("/q/c2"), "", openACL, persistent)
		b.events()
		a.setData(r.p("/q"), "z", anyVer)
		b.events()
	}},

	// ---- check ----
	{name: "check-alone", run: func(r *run) {
		a := r.start()
		a.create(r.p("/c"), "", openACL, persistent)
		a.checkWait(r.p("/c"), 0, time.Second)
		a.checkWait(r.p("/c"), 1, time.Second)
		a.checkWait(r.p("/nope"), 0, time.Second)
		a.checkWait(r.p("/c"), anyVer, time.Second)
		a.exists(r.p("/c"), false)
	}},
	{name: "check-in-multi", run: func(r *run) {
		a := r.start()
		a.create(r.p("/c"), "", openACL, persistent)
		a.multi(mCheck(r.p("/c"), 0), mSetData(r.p("/c"), "x", anyVer))
		a.multi(mCheck(r.p("/c"), 0), mSetData(r.p("/c"), "y", anyVer))
		a.multi(mCheck(r.p("/nope"), 0))
		a.multi(mCheck(r.p("/c"), 1))
		a.getData(r.p("/c"), false)
	}},

	// ---- multi ----
	{name: "multi-success", run: func(r *run) {
		a := r.start()
		a.create(r.p("/old"), "", openACL, persistent)
		a.multi(
			mCreate(r.p("/m1"), "one", openACL, persistent),
			mSetData(r.p("/m1"), "uno", 0),
			mCheck(r.p("/m1"), 1),
			mDelete(r.p("/old"), 0),
			mCreate(r.p("/seq-"), "", openACL, sequential),
			mCreate(r.p("/eph"), "", openACL, ephemeral),
		)
		a.getChildren(r.prefix, false)
		a.getData(r.p("/m1"), false)
		a.exists(r.p("/eph"), false)
	}},
	{name: "multi-create2", run: func(r *run) {
		a := r.start()
		a.multi(mCreateOp(wire.OpCreate2, r.p("/m2"), "two", openACL, persistent))
		a.exists(r.p("/m2"), false)
	}},
	{name: "multi-create-ttl-container", run: func(r *run) {
		a := r.start()
		a.multi(
			mCreateTTL(r.p("/ttl"), "", ttlFlag, longTTL),
			mCreateOp(wire.OpCreateContainer, r.p("/ctr"), "", openACL, container),
		)
	}},
	{name: "multi-failure", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/x"), "", openACL, persistent)
		b.getChildren(r.prefix, true)
		b.getData(r.p("/x"), true)
		a.multi(
			mCreate(r.p("/f1"), "", openACL, persistent),
			mSetData(r.p("/x"), "x", anyVer),
			mDelete(r.p("/nope"), anyVer),
			mCreate(r.p("/f2"), "", openACL, persistent),
		)
		b.events() // nothing fired
		a.exists(r.p("/f1"), false)
		a.getData(r.p("/x"), false)
		a.multi(mCreate(r.p("/x"), "", openACL, persistent), mCreate(r.p("/f3"), "", openACL, persistent))
		a.multi(mCreate(r.p("/f4"), "", openACL, persistent), mSetData(r.p("/x"), "", 7))
		a.multi(mCreate(r.p("/f5"), "", openACL, persistent), mCreate(r.p("/f5"), "", openACL, persistent))
		a.multi(mCreate(r.p("/f6"), "", openACL, 9))
		a.multi(mCreate(r.p("/f6"), "", nil, persistent))
		a.multi(mDelete(r.prefix, anyVer))
		a.multi(mCreate(r.p("/f7"), "", openACL, persistent), mCreate("bad", "", openACL, persistent))
		a.multi(mCreate(r.p("/f8"), "", openACL, persistent), mCreateTTL(r.p("/f9"), "", ttlFlag, 0))
		a.getChildren2(r.prefix, false)
		b.events()
	}},
	{name: "multi-empty", run: func(r *run) {
		a := r.start()
		a.multi()
		a.multiRead()
		a.getChildren2(r.prefix, false)
	}},
	{name: "multi-same-path", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		b.exists(r.p("/x"), true)
		b.getChildren(r.prefix, true)
		a.multi(mCreate(r.p("/x"), "", openACL, persistent), mDelete(r.p("/x"), anyVer))
		b.events()
		a.exists(r.p("/x"), false)
		a.multi(mCreate(r.p("/y"), "a", openACL, persistent), mSetData(r.p("/y"), "b", 0), mSetData(r.p("/y"), "c", 1), mCheck(r.p("/y"), 2))
		a.getData(r.p("/y"), false)
		a.multi(mDelete(r.p("/y"), anyVer), mDelete(r.p("/y"), anyVer))
		a.multi(mCreate(r.p("/p"), "", openACL, persistent), mCreate(r.p("/p/c"), "", openACL, persistent), mDelete(r.p("/p"), anyVer))
		a.multi(mCreate(r.p("/e"), "", openACL, ephemeral), mCreate(r.p("/e/c"), "", openACL, persistent))
		a.getChildren(r.prefix, false)
	}},
	{name: "multi-watch-order", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/a"), "", openACL, persistent)
		a.create(r.p("/b"), "", openACL, persistent)
		b.getData(r.p("/a"), true)
		b.getData(r.p("/b"), true)
		b.getChildren(r.prefix, true)
		b.exists(r.p("/c"), true)
		a.multi(mSetData(r.p("/b"), "1", anyVer), mCreate(r.p("/c"), "", openACL, persistent), mSetData(r.p("/a"), "1", anyVer), mDelete(r.p("/c"), anyVer))
		b.events()
		a.getData(r.p("/a"), true)
		a.multi(mSetData(r.p("/a"), "2", anyVer)) // own watch: event before the reply
	}},
	{name: "multi-mixed", run: func(r *run) {
		a := r.start()
		a.create(r.p("/x"), "x", openACL, persistent)
		a.multi(mCreate(r.p("/y"), "", openACL, persistent), mGetData(r.p("/x")))
		a.ping() // still connected?
		a.exists(r.p("/y"), false)
	}},
	{name: "multi-read-with-write", run: func(r *run) {
		a := r.start()
		a.create(r.p("/x"), "x", openACL, persistent)
		a.multiRead(mGetData(r.p("/x")), mSetData(r.p("/x"), "y", anyVer))
		a.ping() // still connected?
		a.getData(r.p("/x"), false)
	}},
	{name: "multiread", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/a"), "A", openACL, persistent)
		a.create(r.p("/a/c1"), "", openACL, persistent)
		a.create(r.p("/a/c2"), "", openACL, persistent)
		a.create(r.p("/secret"), "s", readACL, persistent)
		a.setACL(r.p("/secret"), []jute.ACL{acl(wire.PermWrite, "world", "anyone")}, anyVer)
		b.multiRead(mGetData(r.p("/a")), mGetChildren(r.p("/a")), mGetData(r.p("/nope")), mGetChildren(r.p("/nope")),
			mGetData(r.p("/secret")), mGetChildren(r.p("/a/c1")), mGetData("bad"))
	}},

	{name: "pipelined", run: func(r *run) {
		// Replies come in request order; a read queued behind a write
		// of the same session sees the write.
		a := r.start()
		b := r.connect("B")
		b.exists(r.p("/x"), true)
		p := r.p("/x")
		a.pipeline(
			pipeOp{wire.OpCreate, &jute.CreateRequest{Path: p, Data: []byte("1"), ACL: openACL}, "create " + p},
			pipeOp{wire.OpGetData, &jute.GetDataRequest{Path: p, Watch: true}, "getData " + p + " watch"},
			pipeOp{wire.OpSetData, &jute.SetDataRequest{Path: p, Data: []byte("2"), Version: -1}, "setData " + p},
			pipeOp{wire.OpExists, &jute.ExistsRequest{Path: p}, "exists " + p},
			pipeOp{wire.OpGetChildren, &jute.GetChildrenRequest{Path: r.prefix}, "getChildren " + r.prefix},
			pipeOp{wire.OpSync, &jute.SyncRequest{Path: p}, "sync " + p},
			pipeOp{wire.OpDelete, &jute.DeleteRequest{Path: p, Version: 5}, "delete " + p + " version=5"},
			pipeOp{wire.OpGetData, &jute.GetDataRequest{Path: p}, "getData " + p},
			pipeOp{wire.OpDelete, &jute.DeleteRequest{Path: p, Version: -1}, "delete " + p},
			pipeOp{wire.OpExists, &jute.ExistsRequest{Path: p}, "exists " + p},
		)
		b.events()
	}},
	{name: "read-bad-paths", run: func(r *run) {
		// Reads do not validate paths; "" is the root's key in
		// ZooKeeper's node map. Root Stats and counts depend on the other
		// scenarios: hidden.
		r.n.hideStats = true
		a := r.start()
		a.exists("", false)
		a.getData("", false)
		a.getACL("")
		for _, p := range []string{"a", r.p("/"), r.p("//x"), r.p("/./x"), r.p("/x\x00")} {
			a.exists(p, false)
			a.getData(p, false)
			a.getChildren(p, false)
			a.getACL(p)
			a.getAllChildrenNumber(p)
		}
	}},

	// ---- sync ----
	{name: "sync", run: func(r *run) {
		a := r.start()
		a.sync(r.prefix)
		a.sync(r.p("/nope"))
		a.sync("/")
		a.sync("bad")
	}},

	// ---- ACLs and auth ----
	{name: "acl-get-set", run: func(r *run) {
		a := r.start()
		a.create(r.p("/n"), "", openACL, persistent)
		a.getACL(r.p("/n"))
		a.setACL(r.p("/n"), readACL, 0)
		a.getACL(r.p("/n"))
		a.setACL(r.p("/n"), openACL, 0)
		a.setACL(r.p("/n"), []jute.ACL{acl(31, "world", "anyone"), acl(1, "ip", "127.0.0.1")}, 1)
		a.getACL(r.p("/n"))
		a.setACL(r.p("/n"), openACL, anyVer)
		a.exists(r.p("/n"), false)
		a.setACL(r.p("/nope"), openACL, anyVer)
		a.getACL(r.p("/nope"))
		a.setACL(r.p("/n"), []jute.ACL{}, anyVer)
		a.setACL(r.p("/n"), []jute.ACL{acl(31, "foo", "x")}, anyVer)
		a.setACL(r.p("/n"), []jute.ACL{acl(31, "ip", "999.1.1.1")}, anyVer)
		a.setACL(r.p("/n"), []jute.ACL{acl(31, "ip", "10.0.0.0/99")}, anyVer)
		a.setACL(r.p("/n"), []jute.ACL{acl(31, "digest", "nocolon")}, anyVer)
		a.setACL(r.p("/n"), creatorACL, anyVer)
		a.setACL(r.p("/n"), []jute.ACL{acl(31, "super", "")}, anyVer)
	}},
	{name: "acl-digest-mask", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.auth("digest", "user:pass")
		a.create(r.p("/d"), "x", []jute.ACL{acl(wire.PermAll, "auth", ""), acl(wire.PermRead, "world", "anyone")}, persistent)
		a.getACL(r.p("/d"))
		b.getACL(r.p("/d"))
		b.getData(r.p("/d"), false)
		a.create(r.p("/admin"), "", []jute.ACL{acl(wire.PermAll, "digest", digestID("user:pass")),
			acl(wire.PermAdmin, "world", "anyone"), acl(wire.PermRead, "digest", digestID("other:pw"))}, persistent)
		b.getACL(r.p("/admin"))
		a.create(r.p("/noread"), "", []jute.ACL{acl(wire.PermAll, "auth", ""), acl(wire.PermWrite, "world", "anyone")}, persistent)
		b.getACL(r.p("/noread"))
	}},
	{name: "acl-enforce", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.auth("digest", "user:pass")
		a.create(r.p("/s"), "secret", creatorACL, persistent)
		a.getACL(r.p("/s"))
		b.exists(r.p("/s"), false)
		b.getData(r.p("/s"), false)
		b.setData(r.p("/s"), "x", anyVer)
		b.getChildren(r.p("/s"), false)
		b.getChildren2(r.p("/s"), false)
		b.getACL(r.p("/s"))
		b.setACL(r.p("/s"), openACL, anyVer)
		b.create(r.p("/s/c"), "", openACL, persistent)
		a.create(r.p("/s/c"), "", openACL, persistent)
		b.delete(r.p("/s/c"), anyVer)
		b.getAllChildrenNumber(r.p("/s"))
		b.multi(mSetData(r.p("/s"), "x", anyVer))
		b.multiRead(mGetData(r.p("/s")), mGetChildren(r.p("/s")))
		b.check(r.p("/s"), anyVer)
		b.auth("digest", "user:wrong")
		b.getData(r.p("/s"), false)
		b.auth("digest", "user:pass")
		b.getData(r.p("/s"), false)
		b.delete(r.p("/s/c"), anyVer)
		a.create(r.p("/ro"), "r", readACL, persistent)
		a.setData(r.p("/ro"), "w", anyVer)
		a.create(r.p("/ro/c"), "", openACL, persistent)
		a.delete(r.p("/ro"), anyVer) // DELETE is checked on the parent
		a.create(r.p("/nodel"), "", []jute.ACL{acl(wire.PermAll&^wire.PermDelete, "world", "anyone")}, persistent)
		a.create(r.p("/nodel/c"), "", openACL, persistent)
		a.delete(r.p("/nodel/c"), anyVer)
		a.delete(r.p("/nodel/missing"), anyVer)
		a.create(r.p("/noperm"), "", []jute.ACL{acl(wire.PermRead, "ip", "10.1.1.1")}, persistent)
		a.getData(r.p("/noperm"), false)
		a.exists(r.p("/noperm"), true)
		a.create(r.p("/ipok"), "", []jute.ACL{acl(wire.PermAll, "ip", "127.0.0.0/8")}, persistent)
		a.getData(r.p("/ipok"), false)
	}},
	{name: "acl-watch-noread", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/w"), "", openACL, persistent)
		b.getData(r.p("/w"), true)
		a.setACL(r.p("/w"), []jute.ACL{acl(wire.PermWrite, "world", "anyone")}, anyVer)
		a.setData(r.p("/w"), "x", anyVer) // 3.8.0 has no READ check on notifications
		b.events()
	}},
	{name: "auth-unknown-scheme", run: func(r *run) {
		a := r.start()
		a.auth("foo", "bar")
		a.expectClosed()
	}},
	{name: "auth-schemes", run: func(r *run) {
		a := r.start()
		a.whoAmI()
		a.auth("ip", "10.9.8.7")
		a.whoAmI()
		a.auth("digest", "alice:secret")
		a.whoAmI()
		a.auth("digest", "alice:secret")
		a.whoAmI()
		a.auth("digest", "bob:pw:with:colons")
		a.whoAmI()
		a.create(r.p("/n"), "", creatorACL, persistent)
		a.getACL(r.p("/n"))
		a.auth("world", "anyone")
		a.expectClosed()
	}},
	{name: "auth-digest-malformed", run: func(r *run) {
		a := r.start()
		a.auth("digest", "nocolon")
		a.ping() // still connected?
		a.whoAmI()
	}},
	{name: "auth-super", run: func(r *run) {
		a := r.start()
		a.auth("super", "anything")
		a.expectClosed()
	}},
	{name: "whoami", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.whoAmI()
		b.auth("digest", "carol:pw")
		b.whoAmI()
		a.whoAmI()
	}},

	// ---- getEphemerals / getAllChildrenNumber ----
	{name: "get-ephemerals", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/sub"), "", openACL, persistent)
		a.create(r.p("/e1"), "", openACL, ephemeral)
		a.create(r.p("/e2"), "", openACL, ephemeral)
		a.create(r.p("/sub/e3"), "", openACL, ephemeral)
		a.create(r.p("/x-"), "", openACL, ephSeq)
		b.create(r.p("/b1"), "", openACL, ephemeral)
		a.getEphemerals(r.prefix)
		a.getEphemerals(r.p("/e"))
		a.getEphemerals(r.p("/sub"))
		a.getEphemerals(r.p("/sub/"))
		a.getEphemerals(r.p("/nomatch"))
		a.getEphemerals(r.p("/b"))
		b.getEphemerals(r.prefix)
		b.getEphemerals("")
		b.getEphemerals("/")
		b.call(wire.OpGetEphemerals, nullStringRecord{}, "getEphemerals <null>")
		b.getEphemerals("s-get")
		a.delete(r.p("/e1"), anyVer)
		a.getEphemerals(r.p("/e"))
	}},
	{name: "get-all-children-number", run: func(r *run) {
		a := r.start()
		a.getAllChildrenNumber(r.prefix)
		a.create(r.p("/a"), "", openACL, persistent)
		a.create(r.p("/a/b"), "", openACL, persistent)
		a.create(r.p("/a/b/c"), "", openACL, persistent)
		a.create(r.p("/d"), "", openACL, ephemeral)
		a.getAllChildrenNumber(r.prefix)
		a.getAllChildrenNumber(r.p("/a"))
		a.getAllChildrenNumber(r.p("/a/b/c"))
		a.getAllChildrenNumber(r.p("/nope"))
		a.getAllChildrenNumber("/zookeeper")
		a.getAllChildrenNumber("bad")
	}},
	{name: "reserved-nodes", run: func(r *run) {
		a := r.start()
		a.getChildren2("/zookeeper", false)
		a.getData("/zookeeper", false)
		a.getData("/zookeeper/quota", false)
		a.getChildren2("/zookeeper/quota", false)
		a.getData("/zookeeper/config", false)
		a.setData("/zookeeper/config", "x", anyVer)
		a.setData("/zookeeper", "x", anyVer)
		a.setACL("/zookeeper", readACL, anyVer)
		a.setACL("/zookeeper", openACL, anyVer)
		a.getACL("/zookeeper")
		a.getACL("/zookeeper/config")
		a.create("/zookeeper/config/x", "", openACL, persistent)
	}},

	// ---- persistent watches ----
	{name: "addwatch-persistent", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		b.addWatch(r.p("/w"), persistentW)
		a.create(r.p("/w"), "", openACL, persistent)
		a.setData(r.p("/w"), "1", anyVer)
		a.setData(r.p("/w"), "2", anyVer)
		a.create(r.p("/w/c"), "", openACL, persistent)
		a.setData(r.p("/w/c"), "x", anyVer)
		a.create(r.p("/w/c/g"), "", openACL, persistent)
		a.delete(r.p("/w/c/g"), anyVer)
		a.delete(r.p("/w/c"), anyVer)
		b.events()
		a.delete(r.p("/w"), anyVer)
		a.create(r.p("/w"), "", openACL, persistent) // still registered
		b.events()
		a.addWatch(r.p("/w"), persistentW)
		a.setData(r.p("/w"), "own", anyVer)
		b.events()
	}},
	{name: "addwatch-recursive", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		b.addWatch(r.p("/r"), recursiveW)
		a.create(r.p("/r"), "", openACL, persistent)
		a.create(r.p("/r/c"), "", openACL, persistent)
		a.create(r.p("/r/c/d"), "", openACL, persistent)
		a.setData(r.p("/r/c/d"), "x", anyVer)
		a.setData(r.p("/r"), "x", anyVer)
		a.create(r.p("/rx"), "", openACL, persistent) // sibling with a common string prefix
		a.delete(r.p("/r/c/d"), anyVer)
		a.delete(r.p("/r/c"), anyVer)
		b.events()
		a.multi(mCreate(r.p("/r/m"), "", openACL, persistent), mSetData(r.p("/r/m"), "1", anyVer), mDelete(r.p("/r/m"), anyVer))
		b.events()
		a.delete(r.p("/r"), anyVer)
		a.create(r.p("/r"), "", openACL, persistent)
		b.events()
	}},
	{name: "addwatch-mixed", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/x"), "", openACL, persistent)
		b.getData(r.p("/x"), true)
		b.addWatch(r.p("/x"), persistentW)
		a.setData(r.p("/x"), "1", anyVer) // one event for both watches
		b.events()
		a.setData(r.p("/x"), "2", anyVer)
		b.events()
		b.getChildren(r.prefix, true)
		b.addWatch(r.prefix, recursiveW)
		a.create(r.p("/y"), "", openACL, persistent)
		b.events()
		b.exists(r.p("/z"), true)
		b.addWatch(r.p("/z"), recursiveW)
		a.create(r.p("/z"), "", openACL, persistent)
		b.events()
		b.addWatch(r.p("/x"), recursiveW) // replaces the persistent mode?
		a.create(r.p("/x/c"), "", openACL, persistent)
		b.events()
		a.delete(r.p("/x/c"), anyVer)
		a.delete(r.p("/x"), anyVer)
		b.events()
	}},
	{name: "addwatch-errors", run: func(r *run) {
		a := r.start()
		a.addWatch(r.p("/w"), 2)
		a.addWatch(r.p("/w"), -1)
		a.addWatch("bad", persistentW)
		a.addWatch(r.p("/w/"), persistentW)
		a.addWatch("/", recursiveW)
		a.removeWatches("/", wire.WatcherAny)
	}},

	// ---- checkWatches / removeWatches ----
	{name: "check-remove-watches", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/d"), "", openACL, persistent)
		b.checkWatches(r.p("/d"), wire.WatcherData)
		b.removeWatches(r.p("/d"), wire.WatcherData)
		b.getData(r.p("/d"), true)
		b.checkWatches(r.p("/d"), wire.WatcherData)
		b.checkWatches(r.p("/d"), wire.WatcherChildren)
		b.checkWatches(r.p("/d"), wire.WatcherAny)
		b.removeWatches(r.p("/d"), wire.WatcherChildren)
		b.removeWatches(r.p("/d"), wire.WatcherData)
		b.checkWatches(r.p("/d"), wire.WatcherData)
		a.setData(r.p("/d"), "x", anyVer)
		b.events()
		b.getChildren(r.p("/d"), true)
		b.checkWatches(r.p("/d"), wire.WatcherChildren)
		b.checkWatches(r.p("/d"), wire.WatcherData)
		b.removeWatches(r.p("/d"), wire.WatcherData)
		b.removeWatches(r.p("/d"), wire.WatcherAny)
		b.checkWatches(r.p("/d"), wire.WatcherAny)
		a.create(r.p("/d/c"), "", openACL, persistent)
		b.events()
		b.exists(r.p("/missing"), true)
		b.checkWatches(r.p("/missing"), wire.WatcherData)
		b.removeWatches(r.p("/missing"), wire.WatcherAny)
		b.getData(r.p("/d"), true)
		b.getChildren(r.p("/d"), true)
		b.removeWatches(r.p("/d"), wire.WatcherAny)
		b.checkWatches(r.p("/d"), wire.WatcherAny)
		a.checkWatches(r.p("/d"), wire.WatcherAny) // another session's watches do not count
		b.checkWatches(r.p("/nope"), wire.WatcherAny)
		b.removeWatches(r.p("/nope"), wire.WatcherAny)
	}},
	{name: "check-remove-persistent", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/p"), "", openACL, persistent)
		b.addWatch(r.p("/p"), persistentW)
		b.checkWatches(r.p("/p"), wire.WatcherData)
		b.checkWatches(r.p("/p"), wire.WatcherChildren)
		b.checkWatches(r.p("/p"), wire.WatcherAny)
		b.removeWatches(r.p("/p"), wire.WatcherData)
		b.checkWatches(r.p("/p"), wire.WatcherAny)
		a.setData(r.p("/p"), "x", anyVer)
		a.create(r.p("/p/c"), "", openACL, persistent)
		b.events()
		b.removeWatches(r.p("/p"), wire.WatcherAny)
		b.checkWatches(r.p("/p"), wire.WatcherAny)
		a.setData(r.p("/p"), "y", anyVer)
		b.events()
		b.addWatch(r.p("/p"), recursiveW)
		b.checkWatches(r.p("/p"), wire.WatcherData)
		b.checkWatches(r.p("/p"), wire.WatcherChildren)
		b.removeWatches(r.p("/p"), wire.WatcherAny)
		a.setData(r.p("/p/c"), "z", anyVer)
		b.events()
	}},
	{name: "check-remove-watch-types", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/p"), "", openACL, persistent)
		b.addWatch(r.p("/p"), persistentW)
		b.checkWatches(r.p("/p"), wire.WatcherPersistent)
		b.checkWatches(r.p("/p"), wire.WatcherPersistentRecursive)
		b.removeWatches(r.p("/p"), wire.WatcherPersistent)
		b.checkWatches(r.p("/p"), 0)
		b.removeWatches(r.p("/p"), 9)
		b.checkWatches("bad", wire.WatcherAny)
		b.removeWatches("bad", wire.WatcherAny)
		b.ping() // still connected?
	}},

	// ---- setWatches on reconnect ----
	{name: "setwatches-reconnect", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		for _, n := range []string{"/data", "/child", "/del", "/same", "/samechild"} {
			a.create(r.p(n), "", openACL, persistent)
		}
		b.getData(r.p("/data"), true)
		b.exists(r.p("/new"), true)
		b.getChildren(r.p("/child"), true)
		b.getChildren(r.p("/del"), true)
		b.getData(r.p("/same"), true)
		b.exists(r.p("/missing"), true)
		b.getChildren(r.p("/samechild"), true)
		b.disconnect()
		a.setData(r.p("/data"), "changed", anyVer)
		a.create(r.p("/new"), "", openACL, persistent)
		a.create(r.p("/child/x"), "", openACL, persistent)
		a.delete(r.p("/del"), anyVer)
		a.setData(r.p("/samechild"), "data only", anyVer)
		b.reconnect(connectOpts{})
		b.setWatches(
			[]string{r.p("/data"), r.p("/same"), r.p("/gone")},
			[]string{r.p("/new"), r.p("/missing"), r.p("/same")},
			[]string{r.p("/child"), r.p("/del"), r.p("/samechild")})
		a.setData(r.p("/same"), "now", anyVer)
		a.create(r.p("/missing"), "", openACL, persistent)
		a.create(r.p("/samechild/c"), "", openACL, persistent)
		a.setData(r.p("/data"), "again", anyVer) // fired on setWatches: gone
		b.events()
	}},
	{name: "setwatches-zero-relzxid", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/d"), "", openACL, persistent)
		b.lastZxid = 0
		b.setWatches([]string{r.p("/d")}, []string{}, []string{r.p("/d")})
		b.setWatches([]string{}, []string{}, []string{})
	}},
	{name: "setwatches-null-lists", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/d"), "", openACL, persistent)
		b.lastZxid = 0
		b.setWatches([]string{r.p("/d")}, nil, []string{r.p("/d")})
		b.setWatches(nil, nil, nil)
		b.ping() // still connected?
	}},
	{name: "setwatches2-persistent", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/p"), "", openACL, persistent)
		a.create(r.p("/r"), "", openACL, persistent)
		b.disconnect()
		a.setData(r.p("/p"), "x", anyVer)
		b.reconnect(connectOpts{})
		b.setWatches2([]string{}, []string{}, []string{}, []string{r.p("/p")}, []string{r.p("/r")})
		a.setData(r.p("/p"), "y", anyVer)
		a.create(r.p("/p/c"), "", openACL, persistent)
		a.create(r.p("/r/c"), "", openACL, persistent)
		a.create(r.p("/r/c/d"), "", openACL, persistent)
		b.events()
		b.checkWatches(r.p("/p"), wire.WatcherAny)
	}},

	// ---- sessions ----
	{name: "session-close-ephemerals", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		a.create(r.p("/p"), "", openACL, persistent)
		b.create(r.p("/p/e"), "", openACL, ephemeral)
		a.exists(r.p("/p/e"), true)
		a.getChildren(r.p("/p"), true)
		a.getChildren(r.p("/p"), false)
		b.closeSession()
		a.events()
		a.getChildren(r.p("/p"), false)
	}},
	{name: "session-close-many-ephemerals", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		c := r.connect("C")
		a.create(r.p("/p"), "", openACL, persistent)
		a.create(r.p("/q"), "", openACL, persistent)
		b.create(r.p("/p/e1"), "", openACL, ephemeral)
		b.create(r.p("/p/e2"), "", openACL, ephemeral)
		b.create(r.p("/q/e3"), "", openACL, ephemeral)
		b.create(r.p("/q/s-"), "", openACL, ephSeq)
		c.create(r.p("/p/c1"), "", openACL, ephemeral)
		a.exists(r.p("/p/e1"), true)
		a.getData(r.p("/p/e2"), true)
		a.getChildren(r.p("/p"), true)
		a.getChildren(r.p("/q"), true)
		a.exists(r.p("/q/e3"), true)
		b.closeSession()
		a.eventsUnordered()
		a.getChildren(r.p("/p"), false)
		a.getChildren(r.p("/q"), false)
		c.getEphemerals("/")
	}},
	{name: "session-close", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		b.create(r.p("/e"), "", openACL, ephemeral)
		id, pw := b.id, b.passwd
		b.closeSession()
		a.exists(r.p("/e"), false)
		c := r.connectWith("B2", connectOpts{sessionID: id, passwd: pw, passwdDesc: "B's"})
		_ = c
	}},
	{name: "session-ids", run: func(r *run) {
		a := r.start()
		b := r.connect("B")
		c := r.connect("C")
		c.create(r.p("/c"), "", openACL, ephemeral)
		b.create(r.p("/b"), "", openACL, ephemeral)
		a.create(r.p("/a"), "", openACL, ephemeral)
		a.exists(r.p("/b"), false)
		a.exists(r.p("/c"), false)
		a.exists(r.p("/a"), false)
		b.ping()
	}},
	{name: "unknown-opcode", run: func(r *run) {
		a := r.start()
		a.raw(999, nil, "op 999 (no body)")
		a.expectClosed()
	}},
	{name: "unknown-opcode-body", run: func(r *run) {
		a := r.start()
		a.raw(50, []byte{0, 0, 0, 1, 'x'}, "op 50 body=0x0000000178")
		a.expectClosed()
	}},
	{name: "delete-container-opcode", run: func(r *run) {
		// deleteContainer (20) is server-internal; its body is the raw
		// path bytes. (Container owners are create-container's business.)
		r.n.hideStats = true
		a := r.start()
		a.createOp(wire.OpCreateContainer, r.p("/c"), nil, openACL, container)
		a.create(r.p("/n"), "", openACL, persistent)
		a.raw(int32(wire.OpDeleteContainer), []byte(r.p("/n")), "deleteContainer (raw path) "+r.p("/n"))
		a.ping() // still connected?
		a.raw(int32(wire.OpDeleteContainer), []byte(r.p("/c")), "deleteContainer (raw path) "+r.p("/c"))
		a.ping() // still connected?
		a.getChildren(r.prefix, false)
	}},
	{name: "create-session-opcode", run: func(r *run) {
		a := r.start()
		a.raw(int32(wire.OpCreateSession), nil, "createSession (opcode -10) in a session")
		a.ping() // still connected?
		a.exists(r.prefix, false)
	}},
	{name: "reconfig-standalone", run: func(r *run) {
		a := r.start()
		req := jute.ReconfigRequest{JoiningServers: "", LeavingServers: "", NewMembers: "", CurConfigID: -1}
		a.call(wire.OpReconfig, &req, "reconfig (standalone)")
		a.ping() // still connected?
	}},
	{name: "sasl-without-sasl", run: func(r *run) {
		a := r.start()
		a.call(wire.OpSASL, &jute.GetSASLRequest{Token: []byte("tok")}, "sasl token=\"tok\"")
		a.ping() // still connected?
	}},
	{name: "reconnect-password", run: func(r *run) {
		a := r.start()
		a.create(r.p("/e"), "", openACL, ephemeral)
		wrong := append([]byte(nil), a.passwd...)
		wrong[0] ^= 0xff
		x := r.connectWith("X", connectOpts{sessionID: a.id, passwd: wrong, passwdDesc: "A's with first byte flipped"})
		_ = x
		a.ping() // is A's connection still open?
		a.reconnect(connectOpts{})
		a.getData(r.p("/e"), false)
		a.reconnect(connectOpts{keepOld: true})
		a.getData(r.p("/e"), false)
	}},
	{name: "reconnect-short-password", run: func(r *run) {
		a := r.start()
		x := r.connectWith("X", connectOpts{sessionID: a.id, passwd: a.passwd[:8], passwdDesc: "A's first 8 bytes"})
		_ = x
		a.reconnect(connectOpts{})
		a.ping()
	}},
	{name: "reconnect-unknown-session", run: func(r *run) {
		r.start()
		x := r.connectWith("X", connectOpts{sessionID: 0x0123456789abcdef, passwd: make([]byte, 16), passwdDesc: "zero16(unknown session)"})
		_ = x
	}},
	{name: "old-client-connect", run: func(r *run) {
		a := r.connectWith("A", connectOpts{omitReadOnly: true})
		a.create(r.prefix, "", openACL, persistent)
		a.getData(r.prefix, false)
		a.reconnect(connectOpts{omitReadOnly: true})
		a.exists(r.prefix, false)
		a.closeSession()
	}},
	{name: "lastzxid-ahead", run: func(r *run) {
		r.start()
		r.connectWith("X", connectOpts{lastZxid: 0x7fffffff00000000, lastZxidDesc: "0x7fffffff00000000(ahead)"})
	}},
	{name: "session-timeout-negotiation", run: func(r *run) {
		r.start()
		for _, to := range []int32{1, 3999, 4000, 40000, 40001, 0, -5} {
			s := &sess{r: r, alias: "T"}
			r.sessions = append(r.sessions, s)
			s.handshakeTimeout(to)
		}
	}},
	{name: "ping", run: func(r *run) {
		a := r.start()
		a.ping()
		a.create(r.p("/x"), "", openACL, persistent)
		a.ping()
		a.logf("> ping with xid 7")
		if a.send(7, wire.OpPing, nil) {
			a.await(wire.XidPing, wire.OpPing, true, replyTimeout) // pings are answered with xid -2
		}
	}},
	{name: "xids", run: func(r *run) {
		a := r.start()
		a.callXid(100, wire.OpExists, &jute.ExistsRequest{Path: r.prefix}, "exists xid=100")
		a.callXid(5, wire.OpExists, &jute.ExistsRequest{Path: r.prefix}, "exists xid=5 (lower)")
		a.callXid(0, wire.OpExists, &jute.ExistsRequest{Path: r.prefix}, "exists xid=0")
		a.callXid(-3, wire.OpExists, &jute.ExistsRequest{Path: r.prefix}, "exists xid=-3")
		a.callXid(1<<31-1, wire.OpExists, &jute.ExistsRequest{Path: r.prefix}, "exists xid=MaxInt32")
		a.ping() // still connected?
	}},
	{name: "truncated-request", run: func(r *run) {
		a := r.start()
		a.raw(int32(wire.OpGetData), []byte{0, 0, 0, 9, '/'}, "getData with a cut-short path")
		a.exists(r.prefix, false)
	}},
	{name: "oversized-frame", run: func(r *run) {
		a := r.start()
		a.logf("> frame header length=2000000")
		if a.c != nil {
			if err := a.c.writeRaw([]byte{0, 0x1e, 0x84, 0x80}, replyTimeout); err != nil {
				a.logf("< %s", connErrString(err))
			}
		}
		a.expectClosed()
	}},
	{name: "request-before-connect", run: func(r *run) {
		c, err := dialRaw(r.srv.addr, dialTimeout)
		if err != nil {
			r.logf("X! dial: %v", err)
			return
		}
		defer c.close()
		r.logf("X> getData %s as the first frame", r.prefix)
		if err := c.writeFrame(encodeRequest(1, wire.OpGetData, &jute.GetDataRequest{Path: r.prefix}), replyTimeout); err != nil {
			r.logf("X< %s", connErrString(err))
			return
		}
		r.expectClosedOn("X", c, closeTimeout)
	}},

	// ---- container and TTL reaping (pair "reaper": checkIntervalMs=100) ----
	{name: "reap-container", pair: "reaper", run: func(r *run) {
		r.n.hideStats = true // owners are create-container's business
		a := r.start()
		b := r.connect("B")
		a.createOp(wire.OpCreateContainer, r.p("/c"), nil, openACL, container)
		a.createOp(wire.OpCreateContainer, r.p("/never"), nil, openACL, container)
		a.create(r.p("/c/x"), "", openACL, persistent)
		b.exists(r.p("/c"), true)
		b.getChildren(r.prefix, true)
		b.waitEvents(1, 500*time.Millisecond, false) // not while it has a child
		a.delete(r.p("/c/x"), anyVer)
		b.waitEvents(2, 3*time.Second, true)
		a.exists(r.p("/c"), false)
		a.exists(r.p("/never"), false) // never had a child: kept
		a.delete(r.p("/never"), anyVer)
	}},
	{name: "reap-container-modes", pair: "reaper", run: func(r *run) {
		// Which requests make a container: the opcode or the flags?
		r.n.hideStats = true
		a := r.start()
		b := r.connect("B")
		a.createOp(wire.OpCreate, r.p("/op1flag4"), nil, openACL, container)
		a.createOp(wire.OpCreate2, r.p("/op15flag4"), nil, openACL, container)
		a.createOp(wire.OpCreateContainer, r.p("/op19flag0"), nil, openACL, persistent)
		a.multi(mCreateOp(wire.OpCreate, r.p("/multiop1flag4"), "", openACL, container))
		a.multi(mCreateOp(wire.OpCreateContainer, r.p("/multiop19flag0"), "", openACL, persistent))
		names := []string{"/op1flag4", "/op15flag4", "/op19flag0", "/multiop1flag4", "/multiop19flag0"}
		for _, n := range names {
			a.create(r.p(n+"/x"), "", openACL, persistent)
			b.exists(r.p(n), true)
		}
		// One multi empties them all: separate deletes would let the
		// reaper run between them, and the zxid a later read returns
		// would depend on that timing.
		var dels []multiOp
		for _, n := range names {
			dels = append(dels, mDelete(r.p(n+"/x"), anyVer))
		}
		a.multi(dels...)
		b.waitEvents(2, 3*time.Second, true)         // ZooKeeper reaps two
		b.waitEvents(1, 400*time.Millisecond, false) // and no more
		a.getChildren(r.prefix, false)
		for _, n := range names {
			a.delete(r.p(n), anyVer)
		}
	}},
	{name: "reap-ttl", pair: "reaper", run: func(r *run) {
		r.n.hideStats = true
		a := r.start()
		b := r.connect("B")
		a.createTTL(r.p("/t"), "", openACL, ttlFlag, 300)
		a.createTTL(r.p("/tc"), "", openACL, ttlFlag, 300)
		a.create(r.p("/tc/x"), "", openACL, persistent)
		a.createTTL(r.p("/long"), "", openACL, ttlFlag, longTTL)
		b.exists(r.p("/t"), true)
		b.exists(r.p("/tc"), true)
		b.waitEvents(1, 3*time.Second, false)
		a.exists(r.p("/t"), false)
		b.waitEvents(1, 500*time.Millisecond, false) // /tc has a child
		a.delete(r.p("/tc/x"), anyVer)
		b.waitEvents(1, 3*time.Second, false)
		a.getChildren(r.prefix, false)
		a.delete(r.p("/long"), anyVer)
	}},

	// ---- four-letter words ----
	{name: "4lw-exact", run: func(r *run) {
		r.fourLetter("ruok", true)
		r.fourLetter("isro", true)
	}},
	{name: "4lw-keys", run: func(r *run) {
		for _, w := range []string{"srvr", "stat", "conf", "envi", "dirs", "wchs"} {
			r.fourLetter(w, false)
		}
	}},
	{name: "4lw-mntr", run: func(r *run) {
		a := r.start() // a write and a read: per-namespace metrics exist
		a.getData(r.prefix, false)
		r.fourLetter("mntr", false)
	}},
	{name: "4lw-not-whitelisted", pair: "plain", run: func(r *run) {
		r.fourLetter("ruok", true)
		r.fourLetter("stat", true)
		r.fourLetter("isro", true)
		r.fourLetter("mntr", true)
		r.fourLetter("srvr", false)
	}},
	{name: "4lw-unknown", run: func(r *run) {
		r.fourLetter("abcd", true)
	}},
}

// checkWait sends a standalone check (opcode 13) and waits at most wait
// for the reply.
func (s *sess) checkWait(path string, version int32, wait time.Duration) {
	s.xid++
	s.callWait(s.xid, wire.OpCheck, &jute.CheckVersionRequest{Path: path, Version: version},
		fmt.Sprintf("check %s version=%d", path, version), wait)
}

// handshakeTimeout connects a new session asking for timeout ms and
// closes it at the end of the scenario.
func (s *sess) handshakeTimeout(timeout int32) {
	c, err := dialRaw(s.r.srv.addr, dialTimeout)
	if err != nil {
		s.logf("! dial: %v", err)
		return
	}
	req := jute.ConnectRequest{TimeOut: timeout, Passwd: make([]byte, 16)}
	s.logf("> connect timeout=%d", timeout)
	if err := c.writeFrame(jute.Marshal(&req), replyTimeout); err != nil {
		s.logf("< %s", connErrString(err))
		c.close()
		return
	}
	s.c = c
	b, err := c.readFrame(replyTimeout)
	if err != nil {
		s.logf("< %s", connErrString(err))
		s.dropConn()
		return
	}
	var resp jute.ConnectResponse
	if err := jute.Unmarshal(b, &resp); err != nil {
		s.logf("< <decode: %v>", err)
		s.dropConn()
		return
	}
	s.id, s.passwd = resp.SessionID, resp.Passwd
	s.logf("< connected timeout=%d session=%s", resp.TimeOut, s.r.n.session(resp.SessionID))
}
