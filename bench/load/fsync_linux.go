package load

import (
	"os"
	"syscall"
)

// fdatasync is what ZooKeeper's FileChannel.force(false) does on Linux.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
