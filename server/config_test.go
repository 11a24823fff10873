package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	text := `# comment
! also a comment
tickTime = 2000
dataDir=/var/zk
clientPort: 2182
clientPortAddress 127.0.0.1
maxClientCnxns=0
initLimit=10
syncLimit=5
4lw.commands.whitelist=ruok, srvr
snapCount=1000
autopurge.snapRetainCount=1
someUnknownKey=1
server.1=10.0.0.1:2888:3888
server.2=10.0.0.2:2888:3888:observer;2181
server.3=[::1]:2888:3888:participant;127.0.0.1:2183
`
	c, err := ParseConfig(strings.NewReader(text), map[string]string{"jute.maxbuffer": "4096"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TickTime != 2000 || c.DataDir != "/var/zk" || c.DataLogDir != "/var/zk" || c.ClientPort != 2182 ||
		c.ClientPortAddress != "127.0.0.1" || c.MaxClientCnxns != 0 || c.InitLimit != 10 || c.SyncLimit != 5 {
		t.Fatalf("parsed %+v", c)
	}
	if c.SnapRetainCount != 3 {
		t.Errorf("snapRetainCount %d, want the minimum 3", c.SnapRetainCount)
	}
	if v, _ := c.Prop("zookeeper.4lw.commands.whitelist"); v != "ruok, srvr" {
		t.Errorf("whitelist property %q", v)
	}
	if v, _ := c.Prop("zookeeper.snapCount"); v != "1000" {
		t.Errorf("snapCount property %q", v)
	}
	if c.MaxBuffer() != 4096 {
		t.Errorf("MaxBuffer %d", c.MaxBuffer())
	}
	if c.MinTimeout() != 4000 || c.MaxTimeout() != 40000 {
		t.Errorf("timeouts %d %d", c.MinTimeout(), c.MaxTimeout())
	}
	warned := false
	for _, w := range c.Warnings {
		if strings.Contains(w, "someUnknownKey") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning for an unknown key: %v", c.Warnings)
	}
	if len(c.Servers) != 3 {
		t.Fatalf("servers %+v", c.Servers)
	}
	s2 := c.Servers[1]
	if !s2.Observer || s2.ClientPort != 2181 || s2.Host != "10.0.0.2" || s2.QuorumPort != 2888 || s2.ElectionPort != 3888 {
		t.Errorf("server.2 %+v", s2)
	}
	s3 := c.Servers[2]
	if s3.Host != "::1" || s3.ClientHost != "127.0.0.1" || s3.ClientPort != 2183 || s3.Observer {
		t.Errorf("server.3 %+v", s3)
	}
	if wl := parseWhitelist(c); !wl["ruok"] || !wl["srvr"] || wl["stat"] {
		t.Errorf("whitelist %v", wl)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, text := range []string{
		"tickTime=abc",
		"server.1=host:1",
		"server.x=host:1:2",
		"server.1=host:1:2:witness",
		"peerType=leader",
		"standaloneEnabled=maybe",
	} {
		if _, err := ParseConfig(strings.NewReader(text), nil); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

func TestLoadConfigMyID(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "zoo.cfg")
	os.WriteFile(cfg, []byte("dataDir="+dir+"\nclientPort=2181\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n"), 0o644)
	if _, err := LoadConfig(cfg, nil); err == nil {
		t.Fatal("no error without myid")
	}
	os.WriteFile(filepath.Join(dir, "myid"), []byte("2\n"), 0o644)
	c, err := LoadConfig(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerID != 2 || c.Standalone() {
		t.Fatalf("id %d standalone %v", c.ServerID, c.Standalone())
	}
}

func TestParseJVMFlags(t *testing.T) {
	m := map[string]string{}
	ParseJVMFlags("-Xmx1g -Dzookeeper.extendedTypesEnabled=true -Dfoo -Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=", m)
	if m["zookeeper.extendedTypesEnabled"] != "true" || m["foo"] != "" ||
		m["zookeeper.DigestAuthenticationProvider.superDigest"] != "super:D/InIHSb7yEEbrWz8b9l71RjZJU=" {
		t.Fatalf("%v", m)
	}
	if _, ok := m["-Xmx1g"]; ok {
		t.Fatal("non -D flag kept")
	}
}

func TestSyncLimits(t *testing.T) {
	tests := []struct {
		props  map[string]string
		count  int
		factor float64
	}{
		{nil, 500, 0.33},
		{map[string]string{"zookeeper.commitLogCount": "20"}, 500, 0.33},
		{map[string]string{"zookeeper.commitLogCount": "800", "zookeeper.snapshotSizeFactor": "-1"}, 800, -1},
		{map[string]string{"zookeeper.snapshotSizeFactor": "0"}, 500, 0},
		{map[string]string{"zookeeper.snapshotSizeFactor": "1.5"}, 500, 0.33},
		{map[string]string{"zookeeper.snapshotSizeFactor": "x"}, 500, 0.33},
	}
	for _, tc := range tests {
		c := DefaultConfig()
		for k, v := range tc.props {
			c.Props[k] = v
		}
		if got := c.CommitLogCount(); got != tc.count {
			t.Errorf("%v: commitLogCount %d, want %d", tc.props, got, tc.count)
		}
		if got := c.SnapshotSizeFactor(); got != tc.factor {
			t.Errorf("%v: snapshotSizeFactor %v, want %v", tc.props, got, tc.factor)
		}
	}
}

// As QuorumPeerConfig: the last of a repeated key wins, and a key the
// file turns into a system property overrides the same -D flag.
func TestConfigPrecedence(t *testing.T) {
	cfg := "tickTime=1000\ntickTime=3000\nsnapCount=10\nsnapCount=20\ndataDir=/tmp/x\n"
	c, err := ParseConfig(strings.NewReader(cfg), map[string]string{"zookeeper.snapCount": "5", "zookeeper.forceSync": "no"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TickTime != 3000 {
		t.Errorf("tickTime %d, want the last value 3000", c.TickTime)
	}
	if v, _ := c.Prop("zookeeper.snapCount"); v != "20" {
		t.Errorf("zookeeper.snapCount %q, want zoo.cfg's last value 20 over -D's 5", v)
	}
	if v, _ := c.Prop("zookeeper.forceSync"); v != "no" {
		t.Errorf("zookeeper.forceSync %q, want the -D value", v)
	}
}
