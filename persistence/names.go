package persistence

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// File name prefixes and the directory of format version 2.
const (
	LogPrefix      = "log"
	SnapshotPrefix = "snapshot"
	VersionDir     = "version-2"
)

// Magic numbers of the FileHeader of each file kind.
const (
	TxnLogMagic   int32 = 0x5A4B4C47 // "ZKLG"
	SnapshotMagic int32 = 0x5A4B534E // "ZKSN"
	FormatVersion int32 = 2
)

// tmpPrefix names snapshots being written. ZooKeeper's name parser
// (prefix "snapshot.") never matches it, so neither server mistakes a
// half-written file for a snapshot.
const tmpPrefix = "tmp."

// ZxidFromName parses the zxid of a file named <prefix>.<hex zxid>[.ext],
// as Util.getZxidFromName does; -1 when the name does not match.
func ZxidFromName(name, prefix string) int64 {
	parts := strings.Split(name, ".")
	if len(parts) < 2 || parts[0] != prefix {
		return -1
	}
	z, err := strconv.ParseInt(parts[1], 16, 64)
	if err != nil {
		return -1
	}
	return z
}

// hexZxid formats a zxid as Java's Long.toHexString.
func hexZxid(z int64) string { return strconv.FormatUint(uint64(z), 16) }

// LogName is the name of a txn log whose first txn has zxid z.
func LogName(z int64) string { return LogPrefix + "." + hexZxid(z) }

// SnapshotName is the name of a snapshot of zxid z written with the given
// compression method ("", "gz" or "snappy").
func SnapshotName(z int64, compression string) string {
	n := SnapshotPrefix + "." + hexZxid(z)
	if compression != "" {
		n += "." + compression
	}
	return n
}

// dataFile is a log or snapshot file and the zxid in its name.
type dataFile struct {
	Path string
	Zxid int64
}

// listFiles returns the files of dir named <prefix>.<hex zxid>..., sorted
// by zxid (ascending, or descending when newestFirst). A missing
// directory has no files.
func listFiles(dir, prefix string, newestFirst bool) ([]dataFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []dataFile
	for _, e := range ents {
		if e.IsDir() || !strings.HasPrefix(e.Name(), prefix+".") {
			continue
		}
		z := ZxidFromName(e.Name(), prefix)
		if z == -1 {
			continue
		}
		out = append(out, dataFile{Path: filepath.Join(dir, e.Name()), Zxid: z})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if newestFirst {
			return out[i].Zxid > out[j].Zxid
		}
		return out[i].Zxid < out[j].Zxid
	})
	return out, nil
}

// logFilesFrom returns the log files that can hold txns with zxid >= z:
// the newest file starting at or before z and every later one
// (FileTxnLog.getLogFiles). files must be sorted ascending.
func logFilesFrom(files []dataFile, z int64) []dataFile {
	var start int64
	for _, f := range files {
		if f.Zxid > z {
			break
		}
		if f.Zxid > start {
			start = f.Zxid
		}
	}
	for i, f := range files {
		if f.Zxid >= start {
			return files[i:]
		}
	}
	return nil
}

// zxidFollows reports whether next may directly follow prev in a log: the
// next counter of the same epoch, or the first txn of a later epoch.
func zxidFollows(prev, next int64) bool {
	if next == prev+1 {
		return true
	}
	return next>>32 > prev>>32 && uint32(next) == 1
}

// syncDir makes a directory's entries (a created or renamed file) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
