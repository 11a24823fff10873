package server

import (
	"testing"

	"zkd/jute"
	"zkd/wire"
)

func TestDigest(t *testing.T) {
	a := &Auth{}
	// Checked against ZooKeeper 3.8.0 (spec §3.8).
	if got, want := a.Digest("user:pass"), "user:smGaoVKd/cQkjm7b88GyorAUz20="; got != want {
		t.Fatalf("Digest = %q, want %q", got, want)
	}
	// go-zookeeper's test suite sets this superDigest for password "test".
	if got, want := a.Digest("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU="; got != want {
		t.Fatalf("Digest = %q, want %q", got, want)
	}
}

func TestAuthenticate(t *testing.T) {
	a := &Auth{SuperDigest: "super:D/InIHSb7yEEbrWz8b9l71RjZJU="}
	ids, err := a.Authenticate("digest", []byte("super:test"), "127.0.0.1")
	if err != nil || len(ids) != 2 || ids[0].Scheme != "super" || ids[1].Scheme != "digest" {
		t.Fatalf("super auth: %v %v", ids, err)
	}
	ids, err = a.Authenticate("digest", []byte("user:pass"), "127.0.0.1")
	if err != nil || len(ids) != 1 || ids[0].ID != "user:smGaoVKd/cQkjm7b88GyorAUz20=" {
		t.Fatalf("digest auth: %v %v", ids, err)
	}
	if _, err := a.Authenticate("kerberos", nil, "127.0.0.1"); err != wire.ErrAuthFailed {
		t.Fatalf("unknown scheme: %v", err)
	}
}

func TestCheckACL(t *testing.T) {
	a := &Auth{}
	world := jute.Id{Scheme: "world", ID: "anyone"}
	ip := []jute.Id{{Scheme: "ip", ID: "10.1.2.3"}}
	dig := append(ip, jute.Id{Scheme: "digest", ID: "u:h"})
	cases := []struct {
		name string
		acl  []jute.ACL
		perm int32
		ids  []jute.Id
		ok   bool
	}{
		{"empty ACL allows", nil, wire.PermRead, ip, true},
		{"world read", []jute.ACL{{Perms: wire.PermRead, ID: world}}, wire.PermRead, ip, true},
		{"world read, write asked", []jute.ACL{{Perms: wire.PermRead, ID: world}}, wire.PermWrite, ip, false},
		{"digest match", []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "digest", ID: "u:h"}}}, wire.PermDelete, dig, true},
		{"digest mismatch", []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "digest", ID: "v:h"}}}, wire.PermDelete, dig, false},
		{"ip exact", []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "ip", ID: "10.1.2.3"}}}, wire.PermRead, ip, true},
		{"ip cidr", []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "ip", ID: "10.1.0.0/16"}}}, wire.PermRead, ip, true},
		{"ip cidr miss", []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "ip", ID: "10.2.0.0/16"}}}, wire.PermRead, ip, false},
		{"super", []jute.ACL{{Perms: 0, ID: world}}, wire.PermAdmin, []jute.Id{{Scheme: "super"}}, true},
		{"read or admin", []jute.ACL{{Perms: wire.PermAdmin, ID: world}}, wire.PermRead | wire.PermAdmin, ip, true},
	}
	for _, c := range cases {
		err := a.Check(c.acl, c.perm, c.ids)
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
		}
	}
	if (&Auth{SkipACL: true}).Check([]jute.ACL{{Perms: 0, ID: world}}, wire.PermRead, nil) != nil {
		t.Error("skipACL does not skip")
	}
}

func TestFixupACL(t *testing.T) {
	a := &Auth{}
	world := jute.ACL{Perms: wire.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}
	dig := jute.Id{Scheme: "digest", ID: "u:h"}
	ip := jute.Id{Scheme: "ip", ID: "127.0.0.1"}
	cases := []struct {
		name string
		in   []jute.ACL
		ids  []jute.Id
		want []jute.ACL
		err  error
	}{
		{"empty", nil, nil, nil, wire.ErrInvalidACL},
		{"dedup", []jute.ACL{world, world}, nil, []jute.ACL{world}, nil},
		{"auth expands to authenticated ids only", []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "auth"}}}, []jute.Id{ip, dig}, []jute.ACL{{Perms: 31, ID: dig}}, nil},
		{"auth without authenticated ids", []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "auth"}}}, []jute.Id{ip}, nil, wire.ErrInvalidACL},
		{"unknown scheme", []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "foo", ID: "x"}}}, nil, nil, wire.ErrInvalidACL},
		{"bad digest id", []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "digest", ID: "nocolon"}}}, nil, nil, wire.ErrInvalidACL},
		{"bad ip", []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "ip", ID: "300.1.1.1"}}}, nil, nil, wire.ErrInvalidACL},
		{"ip cidr ok", []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "ip", ID: "10.0.0.0/8"}}}, nil, []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "ip", ID: "10.0.0.0/8"}}}, nil},
		{"ip bits too many", []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "ip", ID: "10.0.0.0/33"}}}, nil, nil, wire.ErrInvalidACL},
	}
	for _, c := range cases {
		got, err := a.FixupACL(c.in, c.ids)
		if err != c.err {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
	}
}
