package server

import (
	"encoding/hex"
	"testing"
	"time"
)

func TestPassword(t *testing.T) {
	// new java.util.Random(id ^ 0xB3415C00L).nextBytes(new byte[16]),
	// computed with OpenJDK 17.
	cases := map[uint64]string{
		0x0100003fd8750000: "4187f7113a2e6ae48796363813aa9166",
		0x0100003fd8750001: "54a8f111da7949297cd99d63e732a633",
		0x01a20c6abe770001: "2e3b5d63acdcfee6e698395609efa7cf",
		0xff00000000000001: "054cc74a37327db215e702e20c73f005",
	}
	for id, want := range cases {
		if got := hex.EncodeToString(Password(int64(id))); got != want {
			t.Errorf("Password(%x) = %s, want %s", id, got, want)
		}
	}
}

func TestInitialSessionID(t *testing.T) {
	id := InitialSessionID(1, 0x3fd875)
	if uint64(id)>>56 != 1 {
		t.Fatalf("server id not in the top byte: %x", id)
	}
	if id&0xffff != 0 {
		t.Fatalf("counter bits not zero: %x", id)
	}
	if InitialSessionID(5, 1234)>>56 != 5 {
		t.Fatal("server id 5")
	}
}

func TestSessionExpiry(t *testing.T) {
	st := NewSessionTracker(1, 10)
	s := st.Create(30)
	if st.Get(s.ID) != s {
		t.Fatal("not tracked")
	}
	if exp := s.expireAt.Load(); exp%10 != 0 {
		t.Fatalf("expiry %d not on a tick boundary", exp)
	}
	if got := st.Expired(false); len(got) != 0 {
		t.Fatalf("expired too early: %v", got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		if got := st.Expired(false); len(got) == 1 && got[0] == s {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("session never expired")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st.Touch(s) {
		t.Fatal("a closing session was touched")
	}
}
