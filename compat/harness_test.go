package compat

import (
	"math"
	"strings"
	"testing"

	"zkd/jute"
)

// Tests of the harness itself; they need no servers.

func TestNormalizer(t *testing.T) {
	n := newNormalizer()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"zero zxid kept", n.zxid(0), "0"},
		{"minus one kept", n.zxid(-1), "-1"},
		{"first zxid", n.zxid(0x500000007), "Z1"},
		{"second zxid", n.zxid(0x500000003), "Z2"},
		{"repeat", n.zxid(0x500000007), "Z1"},
		{"session zero", n.session(0), "0"},
		{"first session", n.session(0x0100003fd8750000), "s1"},
		{"owner is a session", n.owner(0x0100003fd8750000), "s1"},
		{"new owner", n.owner(0x0100003fd8750001), "s2"},
		{"container owner", n.owner(math.MinInt64), "container(0x8000000000000000)"},
		{"ttl owner", n.owner(-0x0100000000000000 + 0x3e8), "ttl(0xff000000000003e8)"},
		{"time", timeStr(1700000000000), "t"},
		{"zero time", timeStr(0), "0"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestRenderReply(t *testing.T) {
	tests := []struct {
		name string
		rec  jute.Record
		want string
	}{
		{"children sorted", &jute.GetChildrenResponse{Children: []string{"b", "a"}}, "children=[a,b]"},
		{"null children", &jute.GetChildrenResponse{}, "children=null"},
		{"null data", &jute.GetDataResponse{}, "data=null stat{cz=0 mz=0 pz=0 ct=0 mt=0 v=0 cv=0 av=0 owner=0 len=0 nch=0}"},
		{"whoami sorted", &jute.WhoAmIResponse{ClientInfo: []jute.ClientInfo{{AuthScheme: "ip", User: "127.0.0.1"}, {AuthScheme: "digest", User: "u"}}},
			"clientInfo=[digest:u,ip:127.0.0.1]"},
	}
	for _, tt := range tests {
		if got := newNormalizer().record(tt.rec); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDiffTranscripts(t *testing.T) {
	tests := []struct {
		name    string
		a, b    []string
		differs bool
		marks   string // the mark column, one per row
	}{
		{"equal", []string{"x", "y"}, []string{"x", "y"}, false, "  "},
		{"changed", []string{"x", "y", "z"}, []string{"x", "Y", "z"}, true, " | "},
		{"inserted", []string{"x", "z"}, []string{"x", "y", "z"}, true, " > "},
		{"removed", []string{"x", "y", "z"}, []string{"x", "z"}, true, " < "},
		{"longer", []string{"x"}, []string{"x", "y", "z"}, true, " >>"},
	}
	for _, tt := range tests {
		differs, out := diffTranscripts(tt.a, tt.b, "left", "right")
		if differs != tt.differs {
			t.Errorf("%s: differs=%v, want %v", tt.name, differs, tt.differs)
		}
		rows := strings.Split(strings.TrimRight(out, "\n"), "\n")[2:]
		var marks strings.Builder
		for _, r := range rows {
			marks.WriteByte(r[79])
		}
		if marks.String() != tt.marks {
			t.Errorf("%s: marks %q, want %q\n%s", tt.name, marks.String(), tt.marks, out)
		}
	}
}

func TestLineKeys(t *testing.T) {
	reply := "zk_version\t3.8.0\nzk_avg_s-foo_read_per_namespace\t0\nzk_avg_s-bar_read_per_namespace\t1\n" +
		"Clients:\n /127.0.0.1:4242[1](queued=0)\n\nclientPort=2181\nNode count: 5\n"
	want := "<client line>|Clients|Node count|clientPort|zk_avg_<ns>_read_per_namespace|zk_version"
	if got := strings.Join(lineKeys(reply), "|"); got != want {
		t.Errorf("lineKeys: got %q, want %q", got, want)
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a/b", "/a/b"},
		{"/x\x00y", `/x\x00y`},
		{"/x\u007fy", `/x\x7fy`},
		{"/x\xffy", `/x\xffy`},
		{"/é", "/é"},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
