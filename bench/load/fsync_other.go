//go:build !linux

package load

import "os"

func fdatasync(f *os.File) error { return f.Sync() }
