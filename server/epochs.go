package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Epoch files, as QuorumPeer keeps them in dataDir/version-2: ASCII
// decimal without a newline, replaced atomically through a .tmp file.
const (
	currentEpochFile  = "currentEpoch"
	acceptedEpochFile = "acceptedEpoch"
)

type epochs struct {
	dir      string
	accepted int64
	current  int64
}

func readEpoch(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func writeEpoch(path string, v int64) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(strconv.FormatInt(v, 10)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// loadEpochs reads the epoch files, creating them from the last zxid's
// epoch when missing, and refuses the inconsistencies ZooKeeper refuses.
func loadEpochs(dir string, lastZxid int64) (*epochs, error) {
	e := &epochs{dir: dir}
	zxidEpoch := int64(uint64(lastZxid) >> 32)
	var err error
	e.current, err = readEpoch(filepath.Join(dir, currentEpochFile))
	if errors.Is(err, fs.ErrNotExist) {
		e.current = zxidEpoch
		err = writeEpoch(filepath.Join(dir, currentEpochFile), e.current)
	}
	if err != nil {
		return nil, err
	}
	if zxidEpoch > e.current {
		tmp, terr := readEpoch(filepath.Join(dir, currentEpochFile+".tmp"))
		if terr != nil {
			return nil, fmt.Errorf("the current epoch, %d, is older than the last zxid, 0x%x", e.current, lastZxid)
		}
		if err := e.setCurrent(tmp); err != nil {
			return nil, err
		}
	}
	e.accepted, err = readEpoch(filepath.Join(dir, acceptedEpochFile))
	if errors.Is(err, fs.ErrNotExist) {
		e.accepted = zxidEpoch
		err = writeEpoch(filepath.Join(dir, acceptedEpochFile), e.accepted)
	}
	if err != nil {
		return nil, err
	}
	if e.accepted < e.current {
		return nil, fmt.Errorf("the accepted epoch, %d, is less than the current epoch, %d", e.accepted, e.current)
	}
	return e, nil
}

func (e *epochs) setCurrent(v int64) error {
	if err := writeEpoch(filepath.Join(e.dir, currentEpochFile), v); err != nil {
		return err
	}
	e.current = v
	return nil
}

func (e *epochs) setAccepted(v int64) error {
	if err := writeEpoch(filepath.Join(e.dir, acceptedEpochFile), v); err != nil {
		return err
	}
	e.accepted = v
	return nil
}
