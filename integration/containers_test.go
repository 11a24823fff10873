package integration

import (
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestContainerAndTTLCleanup checks the container manager: an emptied
// container and an expired TTL node are deleted, a never-used container
// and a TTL node with children are kept.
func TestContainerAndTTLCleanup(t *testing.T) {
	p := startZkd(t, nil, "-Dznode.container.checkIntervalMs=100", "-Dzookeeper.extendedTypesEnabled=true")
	c, _, err := zk.Connect([]string{p.Addr}, 5*time.Second, zk.WithLogger(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	acl := zk.WorldACL(zk.PermAll)
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateContainer("/used", nil, zk.FlagContainer, acl))
	must(c.Create("/used/child", nil, 0, acl))
	must(c.CreateContainer("/unused", nil, zk.FlagContainer, acl))
	must(c.CreateTTL("/ttl", nil, zk.FlagTTL, acl, 200*time.Millisecond))
	must(c.CreateTTL("/ttlparent", nil, zk.FlagTTL, acl, 200*time.Millisecond))
	must(c.Create("/ttlparent/child", nil, 0, acl))
	if err := c.Delete("/used/child", -1); err != nil {
		t.Fatal(err)
	}
	gone := func(path string) bool {
		ok, _, err := c.Exists(path)
		if err != nil {
			t.Fatal(err)
		}
		return !ok
	}
	deadline := time.Now().Add(5 * time.Second)
	for !(gone("/used") && gone("/ttl")) {
		if time.Now().After(deadline) {
			t.Fatalf("not cleaned up: /used gone=%v /ttl gone=%v", gone("/used"), gone("/ttl"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if gone("/unused") {
		t.Error("a container that never had children was deleted")
	}
	if gone("/ttlparent") {
		t.Error("a TTL node with children was deleted")
	}
}
