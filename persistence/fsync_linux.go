//go:build linux

package persistence

import (
	"os"
	"syscall"
)

// fdatasync flushes a file's data and the metadata needed to read it back;
// the log is preallocated so this rarely needs a metadata write.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
