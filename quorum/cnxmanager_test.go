package quorum

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"zkd/internal/zkproc"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", zkproc.FreePort(t))
}

// TestCnxManagerMesh connects three managers and exchanges messages every
// way, through the connection races of the larger-sid-wins rule.
func TestCnxManagerMesh(t *testing.T) {
	addrs := map[int64]string{}
	for i := int64(1); i <= 3; i++ {
		addrs[i] = freeAddr(t)
	}
	addrOf := func(sid int64) (string, bool) { a, ok := addrs[sid]; return a, ok }
	ms := map[int64]*CnxManager{}
	for i := int64(1); i <= 3; i++ {
		m := NewCnxManager(i, addrs[i], addrs[i], addrOf, time.Second, zerolog.Nop())
		if err := m.Listen(context.Background(), 3); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		ms[i] = m
	}
	sendAll := func() {
		for from := int64(1); from <= 3; from++ {
			for to := int64(1); to <= 3; to++ {
				ms[from].Send(to, []byte(fmt.Sprintf("%d->%d", from, to)))
			}
		}
	}
	// Like FastLeaderElection, resend while waiting: connection races may
	// drop a message, as they may in ZooKeeper.
	got := map[int64]map[string]bool{1: {}, 2: {}, 3: {}}
	deadline := time.Now().Add(5 * time.Second)
	resend := time.Now()
	for time.Now().Before(deadline) {
		if time.Now().After(resend) {
			sendAll()
			resend = time.Now().Add(200 * time.Millisecond)
		}
		done := true
		for id, m := range ms {
			for _, msg := range m.Receive() {
				got[id][string(msg.Data)] = true
				if want := fmt.Sprintf("%d->%d", msg.From, id); string(msg.Data) != want {
					t.Fatalf("server %d got %q from %d", id, msg.Data, msg.From)
				}
			}
			if len(got[id]) < 3 {
				done = false
			}
		}
		if done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for id, g := range got {
		if len(g) != 3 {
			t.Fatalf("server %d received %v", id, g)
		}
	}
}

func TestReadInitialRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01},                                                 // unknown version
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff}, // huge address
	} {
		c1, c2 := net.Pipe()
		go func() { c2.Write(b); c2.Close() }()
		if _, _, err := readInitial(c1); err == nil {
			t.Errorf("%x accepted", b)
		}
		c1.Close()
	}
}
