package tree

import (
	"testing"

	"zkd/wire"
)

// TestValidatePath follows PathUtils.validatePath, which works on UTF-16
// chars: a non-BMP character is a surrogate pair and so rejected.
func TestValidatePath(t *testing.T) {
	tests := []struct {
		path  string
		seq   bool
		valid bool
	}{
		{"", false, false},
		{"a", false, false},
		{"a/b", false, false},
		{"/", false, true},
		{"/a", false, true},
		{"/a/b/c", false, true},
		{"/a/", false, false},
		{"//", false, false},
		{"//a", false, false},
		{"/a//b", false, false},
		{"/a/b//", false, false},
		{"/.", false, false},
		{"/..", false, false},
		{"/./a", false, false},
		{"/../a", false, false},
		{"/a/.", false, false},
		{"/a/..", false, false},
		{"/a/./b", false, false},
		{"/a/../b", false, false},
		{"/a/.b", false, true},
		{"/a/b.", false, true},
		{"/a/..b", false, true},
		{"/a/b..", false, true},
		{"/a/...", false, true},
		{"/a/.../b", false, true},
		{"/.a", false, true},
		{"/..a", false, true},
		{"/a.b/c", false, true},
		{"/zookeeper", false, true},
		{"/a\x00b", false, false},
		{"/\x00", false, false},
		{"/a\x01", false, false},
		{"/a\x1f", false, false},
		{"/a\x20", false, true},
		{"/a\x7e", false, true},
		{"/a\x7f", false, false},
		{"/a\u0080", false, false},
		{"/a\u009f", false, false},
		{"/a\u00a0", false, true},
		{"/é/中文", false, true},
		{"/a\ud7ff", false, true},
		{"/a\xed\xa0\x80", false, false}, // U+D800 as (invalid) UTF-8
		{"/a\xed\xbf\xbf", false, false}, // U+DFFF
		{"/a\ue000", false, false},
		{"/a\uf8ff", false, false},
		{"/a\uf900", false, true},
		{"/a\uffef", false, true},
		{"/a\ufff0", false, false},
		{"/a\ufffd", false, false},
		{"/a\uffff", false, false},
		{"/a\U00010000", false, false}, // non-BMP: a surrogate pair in Java
		{"/a\U0001F600", false, false},
		{"/a\xff", false, false}, // invalid UTF-8 reads as U+FFFD
		{"/a\xc3", false, false},
		// Sequential creates are checked with a suffix appended.
		{"/a/", true, true},
		{"/", true, true},
		{"/a", true, true},
		{"", true, false},
		{"a/", true, false},
		{"/a//", true, false},
		{"/a/.", true, true},
		{"/a/./", true, false},
		{"/a/..", true, true},
	}
	for _, tc := range tests {
		err := ValidatePath(tc.path, tc.seq)
		if (err == nil) != tc.valid {
			t.Errorf("ValidatePath(%q, %v) = %v, want valid=%v", tc.path, tc.seq, err, tc.valid)
		}
		if err != nil && err != wire.ErrBadArguments {
			t.Errorf("ValidatePath(%q) = %v, want BADARGUMENTS", tc.path, err)
		}
	}
}

func TestSplitJoinParent(t *testing.T) {
	tests := []struct{ path, parent, child string }{
		{"/a", "/", "a"},
		{"/a/b", "/a", "b"},
		{"/a/b/c", "/a/b", "c"},
		{"/zookeeper/quota", "/zookeeper", "quota"},
	}
	for _, tc := range tests {
		p, c := Split(tc.path)
		if p != tc.parent || c != tc.child {
			t.Errorf("Split(%q) = %q, %q", tc.path, p, c)
		}
		if Parent(tc.path) != tc.parent {
			t.Errorf("Parent(%q) = %q", tc.path, Parent(tc.path))
		}
		if Join(tc.parent, tc.child) != tc.path {
			t.Errorf("Join(%q, %q) = %q", tc.parent, tc.child, Join(tc.parent, tc.child))
		}
	}
}
