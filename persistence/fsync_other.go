//go:build !linux

package persistence

import "os"

// fdatasync falls back to a full fsync where fdatasync is missing.
func fdatasync(f *os.File) error { return f.Sync() }
