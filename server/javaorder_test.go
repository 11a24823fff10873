package server

import (
	"strings"
	"testing"
)

// The expected orders are what a java.util.HashSet clone of the same
// insertions iterates in (run on OpenJDK 17), as DataTree.getEphemerals
// returns them.
func TestJavaHashSetOrder(t *testing.T) {
	tests := []struct {
		inserted []string
		want     string
	}{
		{[]string{"/eph2", "/ext/eph1", "/ext/eph-0000000002"}, "/eph2 /ext/eph1 /ext/eph-0000000002"},
		{[]string{"/ext/eph1", "/eph2", "/ext/eph-0000000002"}, "/eph2 /ext/eph1 /ext/eph-0000000002"},
		// "Aa" and "BB" share a hash: insertion order decides.
		{[]string{"/xBB", "/xAa", "/q"}, "/q /xBB /xAa"},
		{[]string{"/xAa", "/xBB", "/q"}, "/q /xAa /xBB"},
		{strings.Fields("/m /l /k /j /i /h /g /f /e /d /c /b /a"), "/a /b /c /d /e /f /g /h /i /j /k /l /m"},
		{[]string{"/lock/n-0000000001", "/lock/n-0000000002", "/lock/n-0000000003", "/lock/n-0000000010",
			"/lock/n-0000000011", "/zk/é", "/zk/日本", "/zk/😀"},
			"/lock/n-0000000002 /lock/n-0000000003 /lock/n-0000000011 /lock/n-0000000001 /lock/n-0000000010 /zk/é /zk/😀 /zk/日本"},
	}
	for _, tc := range tests {
		order := map[string]int64{}
		for i, p := range tc.inserted {
			order[p] = int64(i)
		}
		got := append([]string(nil), tc.inserted...)
		javaHashSetOrder(got, func(p string) int64 { return order[p] })
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%v: got %v, want %s", tc.inserted, got, tc.want)
		}
	}
}

func TestJavaStringHash(t *testing.T) {
	// Values of "...".hashCode() in Java.
	for s, want := range map[string]int32{"": 0, "a": 97, "Aa": 2112, "BB": 2112, "/zookeeper": 954481661,
		"/zk/😀": 1463245362, "/lock/n-0000000011": -1384741132} {
		if got := javaStringHash(s); got != want {
			t.Errorf("hash(%q) = %d, want %d", s, got, want)
		}
	}
}
