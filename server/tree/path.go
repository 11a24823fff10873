package tree

import (
	"strings"
	"unicode/utf8"

	"zkd/wire"
)

// ValidatePath checks a client path as PathUtils.validatePath does. A
// sequential create is validated with a suffix appended, so a trailing
// slash is allowed there.
func ValidatePath(path string, sequential bool) error {
	if sequential {
		path += "1"
	}
	if len(path) == 0 || path[0] != '/' {
		return wire.ErrBadArguments
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return wire.ErrBadArguments
	}
	prev := '/'
	for i, r := range path {
		if i == 0 {
			continue
		}
		switch {
		case r == 0:
			return wire.ErrBadArguments
		case r == '/' && prev == '/':
			return wire.ErrBadArguments
		case r == '.' && prev == '.':
			// ".." as a whole component
			if path[i-2] == '/' && (i+1 == len(path) || path[i+1] == '/') {
				return wire.ErrBadArguments
			}
		case r == '.' && prev == '/':
			// "." as a whole component
			if i+1 == len(path) || path[i+1] == '/' {
				return wire.ErrBadArguments
			}
		case r == utf8.RuneError:
			return wire.ErrBadArguments
		case r > 0 && r <= 0x1f, r >= 0x7f && r <= 0x9f,
			r >= 0xd800 && r <= 0xf8ff, r >= 0xfff0:
			return wire.ErrBadArguments
		}
		prev = r
	}
	return nil
}

// Split returns the parent path and the child name of a non-root path.
// The parent of "/a" is "/".
func Split(path string) (parent, child string) {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/", path[i+1:]
	}
	return path[:i], path[i+1:]
}

// Parent returns the parent path of a non-root path.
func Parent(path string) string {
	p, _ := Split(path)
	return p
}

// Join appends a child name to a path.
func Join(parent, child string) string {
	if parent == "/" {
		return "/" + child
	}
	return parent + "/" + child
}
