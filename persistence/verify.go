package persistence

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/rs/zerolog"

	"zkd/server/tree"
	"zkd/wire"
)

// Severity of a verification finding.
type Severity int

const (
	SevOK Severity = iota
	// SevWarn is damage that restore repairs or tolerates by itself (a torn
	// tail of the last log, for instance).
	SevWarn
	SevError
)

func (s Severity) String() string {
	switch s {
	case SevOK:
		return "OK"
	case SevWarn:
		return "WARN"
	}
	return "ERROR"
}

// Finding is one line of a verification report.
type Finding struct {
	Sev  Severity
	File string
	Msg  string
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Findings []Finding
	Errors   int
	Warnings int
}

func (r *VerifyReport) add(sev Severity, file, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Sev: sev, File: file, Msg: fmt.Sprintf(format, args...)})
	switch sev {
	case SevWarn:
		r.Warnings++
	case SevError:
		r.Errors++
	}
}

// logSummary is what verification learns about one log file.
type logSummary struct {
	path        string
	nameZxid    int64
	first, last int64 // zxids of its first and last txn; 0 when empty
	count       int
	tornAt      int64 // offset of a torn tail, -1 when none
	corrupt     bool
}

// Verify checks a data directory without changing it: every log record's
// checksum and the zxid continuity of the logs, every snapshot's seals,
// each snapshot digest against the tree rebuilt from it (replaying the
// logs up to the digest's zxid), and the txn digests from the newest
// snapshot to the end of the logs. Only o.MaxRecord, o.ExtendedTypes and
// o.Emulate353TTL of o are used.
func Verify(dataDir, dataLogDir string, o Options) *VerifyReport {
	if dataLogDir == "" {
		dataLogDir = dataDir
	}
	r := &VerifyReport{}
	snapDir := filepath.Join(dataDir, VersionDir)
	logDir := filepath.Join(dataLogDir, VersionDir)
	logs, err := listFiles(logDir, LogPrefix, false)
	if err != nil {
		r.add(SevError, logDir, "%v", err)
		return r
	}
	snaps, err := listFiles(snapDir, SnapshotPrefix, false)
	if err != nil {
		r.add(SevError, snapDir, "%v", err)
		return r
	}
	sums := make([]logSummary, 0, len(logs))
	for i, f := range logs {
		sums = append(sums, verifyLogFile(r, f, i == len(logs)-1, o.MaxRecord))
	}
	// Continuity across files: a gap is fine only where a snapshot covers
	// it (a learner synced by SNAP starts its logs after the snapshot).
	prevLast := int64(0)
	for _, s := range sums {
		if s.count == 0 {
			continue
		}
		if prevLast != 0 && !zxidFollows(prevLast, s.first) {
			switch {
			case s.first <= prevLast:
				r.add(SevError, s.path, "zxids go back: starts at 0x%s after 0x%s", hexZxid(s.first), hexZxid(prevLast))
			case snapshotIn(snaps, prevLast, s.first):
				r.add(SevOK, s.path, "zxid gap 0x%s..0x%s is covered by a snapshot", hexZxid(prevLast), hexZxid(s.first))
			default:
				r.add(SevError, s.path, "zxid gap: starts at 0x%s but the previous log ends at 0x%s and no snapshot covers the gap", hexZxid(s.first), hexZxid(prevLast))
			}
		}
		prevLast = s.last
	}
	var newest *SnapshotFile
	for i := len(snaps) - 1; i >= 0; i-- {
		sf := verifySnapshot(r, snaps[i], logDir, o)
		if sf != nil && newest == nil {
			newest = sf
		}
	}
	if len(snaps) == 0 && len(logs) > 0 {
		r.add(SevError, snapDir, "no snapshot, but there are txn logs (zookeeper.snapshot.trust.empty is needed to start)")
	}
	if newest != nil {
		verifyReplay(r, newest, logDir, o)
	} else if len(snaps) > 0 {
		r.add(SevError, snapDir, "no valid snapshot")
	}
	return r
}

// snapshotIn reports whether a snapshot bridges a gap between two logs:
// one at or after the end of the first whose next txn starts the second.
func snapshotIn(snaps []dataFile, prevLast, next int64) bool {
	for _, s := range snaps {
		if s.Zxid >= prevLast && zxidFollows(s.Zxid, next) {
			return true
		}
	}
	return false
}

func verifyLogFile(r *VerifyReport, f dataFile, last bool, maxRecord int) logSummary {
	s := logSummary{path: f.Path, nameZxid: f.Zxid, tornAt: -1}
	lr, err := OpenLogFile(f.Path, maxRecord)
	if err != nil {
		r.add(SevError, f.Path, "%v", err)
		s.corrupt = true
		return s
	}
	defer lr.Close()
	prev := int64(0)
	for {
		entry, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var ce *CorruptError
			torn := false
			if errors.As(err, &ce) && lr.fault != faultNoMagic {
				torn, _ = lr.tornTail()
			}
			switch {
			case torn && last:
				s.tornAt = lr.recOff
				if lr.fault == faultHeader {
					r.add(SevWarn, f.Path, "torn inside the file header (%d bytes); restore deletes the file", lr.size)
				} else {
					r.add(SevWarn, f.Path, "torn record at offset %d (%s); restore truncates it there", lr.recOff, ce.Reason)
				}
			case torn:
				s.tornAt = lr.recOff
				r.add(SevWarn, f.Path, "torn record at offset %d (%s) at the end of a file that is not the last; tolerated if the next log continues", lr.recOff, ce.Reason)
			default:
				s.corrupt = true
				r.add(SevError, f.Path, "%v", err)
			}
			break
		}
		t, err := wire.DecodeTxn(entry)
		if err != nil {
			s.corrupt = true
			r.add(SevError, f.Path, "undecodable txn at offset %d: %v", lr.recOff, err)
			break
		}
		z := t.Header.Zxid
		if s.count == 0 {
			s.first = z
			if z != f.Zxid {
				r.add(SevWarn, f.Path, "first txn has zxid 0x%s, not the 0x%s of the file name", hexZxid(z), hexZxid(f.Zxid))
			}
		} else if !zxidFollows(prev, z) {
			r.add(SevError, f.Path, "zxid 0x%s at offset %d does not follow 0x%s", hexZxid(z), lr.recOff, hexZxid(prev))
		}
		prev = z
		s.last = z
		s.count++
	}
	if !s.corrupt {
		if s.count == 0 {
			r.add(SevOK, f.Path, "no txns")
		} else {
			r.add(SevOK, f.Path, "%d txns, zxid 0x%s..0x%s, checksums good", s.count, hexZxid(s.first), hexZxid(s.last))
		}
	}
	return s
}

// fuzzyDigestNote explains why a snapshot digest mismatch is a warning:
// ZooKeeper 3.8 sometimes stores, in a snapshot taken under load, a digest
// that matches no state of the tree; it logs the mismatch on restore and
// serves the right tree (rebuilt from the nodes, not the digest), as zkd does.
const fuzzyDigestNote = " (restore logs this and carries on: ZooKeeper's fuzzy snapshots can store a digest of no actual state)"

// verifySnapshot reads one snapshot fully and checks its digest; it
// returns the snapshot when it is usable.
func verifySnapshot(r *VerifyReport, f dataFile, logDir string, o Options) *SnapshotFile {
	if !IsValidSnapshot(f.Path) {
		r.add(SevError, f.Path, "fails the snapshot validity check (truncated, or not a snapshot)")
		return nil
	}
	sf, err := ReadSnapshotFile(f.Path, SnapReadOptions{MaxRecord: o.MaxRecord, ExtendedTypes: o.ExtendedTypes, Emulate353TTL: o.Emulate353TTL})
	if err != nil {
		r.add(SevError, f.Path, "%v", err)
		return nil
	}
	msg := fmt.Sprintf("%d nodes, %d sessions, seals good", sf.Tree.NodeCount(), len(sf.Tree.Sessions))
	if sf.HasLastZxid {
		msg += fmt.Sprintf(", lastProcessedZxid 0x%s", hexZxid(sf.LastZxid))
	}
	switch {
	case !sf.DigestSection:
		r.add(SevOK, f.Path, "%s, no digest section", msg)
	case sf.Digest == nil:
		r.add(SevOK, f.Path, "%s, empty digest", msg)
	case sf.Digest.Version != wire.DigestVersion:
		r.add(SevOK, f.Path, "%s, digest version %d not checked", msg, sf.Digest.Version)
	case sf.Digest.Zxid < sf.Zxid:
		r.add(SevOK, f.Path, "%s, digest zxid 0x%s before the snapshot's: not checked", msg, hexZxid(sf.Digest.Zxid))
	case sf.Digest.Zxid == sf.Zxid:
		if got := sf.Tree.Digest(); got != sf.Digest.Digest {
			r.add(SevWarn, f.Path, "digest mismatch: stored %d, recomputed %d%s", sf.Digest.Digest, got, fuzzyDigestNote)
		} else {
			r.add(SevOK, f.Path, "%s, digest matches", msg)
		}
	default:
		// Fuzzy: rebuild the tree up to the digest's zxid from the logs.
		t, err := ReadSnapshotFile(f.Path, SnapReadOptions{MaxRecord: o.MaxRecord, ExtendedTypes: o.ExtendedTypes, Emulate353TTL: o.Emulate353TTL})
		if err != nil {
			r.add(SevError, f.Path, "%v", err)
			return nil
		}
		tr := t.Tree
		tr.LastProcessedZxid = sf.Zxid
		reached, err := replayUntil(tr, logDir, sf.Zxid+1, sf.Digest.Zxid, o.MaxRecord)
		switch {
		case err != nil:
			r.add(SevError, f.Path, "replaying the logs to check the digest: %v", err)
		case !reached:
			r.add(SevWarn, f.Path, "%s; the logs no longer reach the digest zxid 0x%s, digest not checked", msg, hexZxid(sf.Digest.Zxid))
		case tr.Digest() != sf.Digest.Digest:
			r.add(SevWarn, f.Path, "digest mismatch at zxid 0x%s: stored %d, rebuilt %d%s", hexZxid(sf.Digest.Zxid), sf.Digest.Digest, tr.Digest(), fuzzyDigestNote)
		default:
			r.add(SevOK, f.Path, "%s, digest matches at zxid 0x%s", msg, hexZxid(sf.Digest.Zxid))
		}
	}
	return sf
}

// replayUntil applies the logged txns in [from, until] to t and reports
// whether until was reached.
func replayUntil(t *tree.DataTree, logDir string, from, until int64, maxRecord int) (bool, error) {
	it, err := ReadTxns(logDir, from, IterOptions{MaxRecord: maxRecord, Log: zerolog.Nop()})
	if err != nil {
		return false, err
	}
	defer it.Close()
	for it.Next() {
		txn := it.Txn()
		if txn.Header.Zxid > until {
			return false, nil
		}
		t.ProcessTxn(txn)
		if txn.Header.Zxid == until {
			return true, nil
		}
	}
	return false, it.Err()
}

// verifyReplay replays every txn after the newest valid snapshot, as a
// restart would, comparing the txn digests.
func verifyReplay(r *VerifyReport, sf *SnapshotFile, logDir string, o Options) {
	t := sf.Tree
	t.LastProcessedZxid = sf.Zxid
	var target *ZxidDigest
	if sf.Digest != nil && sf.Digest.Zxid >= sf.Zxid {
		target = sf.Digest
	}
	check := &digestCheck{enabled: true, target: target, log: zerolog.Nop()}
	check.afterTxn(t, t.LastProcessedZxid)
	it, err := ReadTxns(logDir, sf.Zxid+1, IterOptions{MaxRecord: o.MaxRecord, Log: zerolog.Nop()})
	if err != nil {
		r.add(SevError, logDir, "%v", err)
		return
	}
	defer it.Close()
	n := 0
	withDigest := 0
	for it.Next() {
		txn := it.Txn()
		t.ProcessTxn(txn)
		check.afterTxn(t, txn.Header.Zxid)
		if txn.Digest != nil && check.target == nil {
			withDigest++
		}
		check.txnDigest(t, txn)
		n++
	}
	if err := it.Err(); err != nil {
		r.add(SevError, logDir, "replay after %s: %v", filepath.Base(sf.Path), err)
		return
	}
	if it.Gaps > 0 {
		r.add(SevError, logDir, "replay after %s: %d zxid gaps", filepath.Base(sf.Path), it.Gaps)
	}
	// A mismatch with the snapshot's own digest is reported (as a
	// warning) with the snapshot; one with a txn's digest is an error.
	if check.txnErrors > 0 {
		r.add(SevError, logDir, "replay after %s: %d digest mismatches", filepath.Base(sf.Path), check.txnErrors)
	}
	if check.target != nil {
		r.add(SevError, logDir, "replay after %s ends at 0x%s, before the snapshot digest zxid 0x%s", filepath.Base(sf.Path), hexZxid(t.LastProcessedZxid), hexZxid(check.target.Zxid))
	}
	r.add(SevOK, logDir, "restore would load %s and replay %d txns up to zxid 0x%s (%d txn digests checked), %d nodes",
		filepath.Base(sf.Path), n, hexZxid(max(t.LastProcessedZxid, sf.Zxid)), withDigest, t.NodeCount())
}
