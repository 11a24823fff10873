package main

// Data-dir tools: zkd snapshot-dump | log-dump | verify | purge, the
// counterparts of ZooKeeper's SnapshotFormatter, LogFormatter /
// TxnLogToolkit, a data-dir check and PurgeTxnLog (zkCleanup.sh).

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"zkd/jute"
	"zkd/persistence"
	"zkd/server/tree"
	"zkd/wire"
)

type toolFunc func(args []string, stdout, stderr io.Writer) int

// subcommand returns the handler of a data-dir tool.
func subcommand(name string) (func(args []string, stdout, stderr io.Writer) int, bool) {
	tools := map[string]toolFunc{
		"snapshot-dump": snapshotDump,
		"log-dump":      logDump,
		"verify":        verifyDataDir,
		"purge":         purgeDataDir,
	}
	f, ok := tools[name]
	return f, ok
}

// parseTool parses flags that may come before or after the positional
// arguments, as the Java tools accept them.
func parseTool(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string, stderr io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: zkd %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// javaHex formats as Java's String.format("%#016x"): 0x and at least 14
// digits (the width counts the prefix).
func javaHex(v int64) string {
	s := strconv.FormatUint(uint64(v), 16)
	if len(s) < 14 {
		s = strings.Repeat("0", 14-len(s)) + s
	}
	return "0x" + s
}

func hexID(v int64) string { return strconv.FormatUint(uint64(v), 16) }

// javaDate formats as java.util.Date.toString.
func javaDate(ms int64) string {
	return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006")
}

func sortedChildren(n *tree.Node) []string {
	c := n.ChildNames()
	sort.Strings(c)
	return c
}

func snapshotDump(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("snapshot-dump", stderr, "[-d] [--json] <snapshot file>")
	asJSON := fs.Bool("json", false, "write JSON: header, digest, sessions and every node with its stat and ACL")
	data := fs.Bool("d", false, "include node data (base64)")
	pos, err := parseTool(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	// Tools read every owner encoding, so TTL nodes show as such.
	sf, err := persistence.ReadSnapshotFile(pos[0], persistence.SnapReadOptions{ExtendedTypes: true})
	if err != nil {
		fmt.Fprintf(stderr, "zkd snapshot-dump: %v\n", err)
		return 1
	}
	w := bufio.NewWriterSize(stdout, 256<<10)
	defer w.Flush()
	if *asJSON {
		if err := dumpSnapshotJSON(w, sf, *data); err != nil {
			fmt.Fprintf(stderr, "zkd snapshot-dump: %v\n", err)
			return 1
		}
		return 0
	}
	t := sf.Tree
	// ZooKeeper's DataTree counts the root twice ("" and "/").
	fmt.Fprintf(w, "ZNode Details (count=%d):\n", t.NodeCount()+1)
	var dtZxid int64
	var walk func(p string)
	walk = func(p string) {
		n := t.Node(p)
		if n == nil {
			return
		}
		st := &n.Stat
		fmt.Fprintf(w, "----\n%s\n", p)
		fmt.Fprintf(w, "  cZxid = %s\n  ctime = %s\n", javaHex(st.Czxid), javaDate(st.Ctime))
		fmt.Fprintf(w, "  mZxid = %s\n  mtime = %s\n", javaHex(st.Mzxid), javaDate(st.Mtime))
		fmt.Fprintf(w, "  pZxid = %s\n  cversion = %d\n  dataVersion = %d\n  aclVersion = %d\n", javaHex(st.Pzxid), st.Cversion, st.Version, st.Aversion)
		fmt.Fprintf(w, "  ephemeralOwner = %s\n", javaHex(st.EphemeralOwner))
		if *data {
			fmt.Fprintf(w, "  data = %s\n", base64.StdEncoding.EncodeToString(n.Data()))
		} else {
			fmt.Fprintf(w, "  dataLength = %d\n", len(n.Data()))
		}
		dtZxid = max(dtZxid, st.Mzxid, st.Pzxid)
		for _, c := range sortedChildren(n) {
			walk(tree.Join(p, c))
		}
	}
	walk("/")
	fmt.Fprintf(w, "----\nSession Details (sid, timeout, ephemeralCount):\n")
	ids := make([]int64, 0, len(t.Sessions))
	for id := range t.Sessions {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		fmt.Fprintf(w, "%s, %d, %d\n", javaHex(id), t.Sessions[id], len(t.Ephemerals(id)))
	}
	if sf.Digest != nil {
		fmt.Fprintf(w, "Target zxid digest is: %s, %d\n", hexID(sf.Digest.Zxid), sf.Digest.Digest)
	}
	fmt.Fprintf(w, "----\nLast zxid: 0x%s\n", hexID(max(sf.Zxid, dtZxid)))
	return 0
}

type jsonACL struct {
	Perms  int32  `json:"perms"`
	Scheme string `json:"scheme"`
	ID     string `json:"id"`
}

type jsonNode struct {
	Path           string    `json:"path"`
	Czxid          string    `json:"czxid"`
	Mzxid          string    `json:"mzxid"`
	Pzxid          string    `json:"pzxid"`
	Ctime          int64     `json:"ctime"`
	Mtime          int64     `json:"mtime"`
	Version        int32     `json:"version"`
	Cversion       int32     `json:"cversion"`
	Aversion       int32     `json:"aversion"`
	EphemeralOwner string    `json:"ephemeralOwner"`
	Type           string    `json:"type"`
	DataLength     int       `json:"dataLength"`
	NumChildren    int       `json:"numChildren"`
	Data           *string   `json:"data,omitempty"`
	ACL            []jsonACL `json:"acl"`
}

func dumpSnapshotJSON(w io.Writer, sf *persistence.SnapshotFile, withData bool) error {
	t := sf.Tree
	head := map[string]any{
		"file":          sf.Path,
		"zxid":          "0x" + hexID(sf.Zxid),
		"magic":         fmt.Sprintf("0x%08x", uint32(sf.Header.Magic)),
		"version":       sf.Header.Version,
		"dbid":          sf.Header.DBID,
		"nodeCount":     t.NodeCount(),
		"treeDigest":    t.Digest(),
		"digestSection": sf.DigestSection,
	}
	if sf.Digest != nil {
		head["digest"] = map[string]any{"zxid": "0x" + hexID(sf.Digest.Zxid), "version": sf.Digest.Version, "digest": sf.Digest.Digest, "matchesTree": sf.Digest.Zxid == sf.Zxid && sf.Digest.Digest == t.Digest()}
	}
	if sf.HasLastZxid {
		head["lastProcessedZxid"] = "0x" + hexID(sf.LastZxid)
	}
	type jsonSession struct {
		ID         string `json:"id"`
		Timeout    int32  `json:"timeout"`
		Ephemerals int    `json:"ephemeralCount"`
	}
	sessions := []jsonSession{}
	for id, to := range t.Sessions {
		sessions = append(sessions, jsonSession{ID: "0x" + hexID(id), Timeout: to, Ephemerals: len(t.Ephemerals(id))})
	}
	sort.Slice(sessions, func(i, j int) bool { return sessions[i].ID < sessions[j].ID })
	head["sessions"] = sessions
	hb, err := json.Marshal(head)
	if err != nil {
		return err
	}
	// Stream the nodes so a large tree needs no second copy in memory.
	io.WriteString(w, string(hb[:len(hb)-1]))
	io.WriteString(w, `,"nodes":[`)
	first := true
	var werr error
	var walk func(p string)
	walk = func(p string) {
		n := t.Node(p)
		if n == nil || werr != nil {
			return
		}
		st := &n.Stat
		jn := jsonNode{
			Path: p, Czxid: "0x" + hexID(st.Czxid), Mzxid: "0x" + hexID(st.Mzxid), Pzxid: "0x" + hexID(st.Pzxid),
			Ctime: st.Ctime, Mtime: st.Mtime, Version: st.Version, Cversion: st.Cversion, Aversion: st.Aversion,
			EphemeralOwner: "0x" + hexID(st.EphemeralOwner), Type: ownerType(t, st.EphemeralOwner),
			DataLength: len(n.Data()), NumChildren: n.NumChildren(), ACL: []jsonACL{},
		}
		if withData {
			s := base64.StdEncoding.EncodeToString(n.Data())
			jn.Data = &s
		}
		for _, a := range t.ACLOf(n) {
			jn.ACL = append(jn.ACL, jsonACL{Perms: a.Perms, Scheme: a.ID.Scheme, ID: a.ID.ID})
		}
		b, err := json.Marshal(jn)
		if err != nil {
			werr = err
			return
		}
		if !first {
			io.WriteString(w, ",\n")
		} else {
			io.WriteString(w, "\n")
		}
		first = false
		if _, err := w.Write(b); err != nil {
			werr = err
			return
		}
		for _, c := range sortedChildren(n) {
			walk(tree.Join(p, c))
		}
	}
	walk("/")
	if werr != nil {
		return werr
	}
	_, err = io.WriteString(w, "\n]}\n")
	return err
}

func ownerType(t *tree.DataTree, owner int64) string {
	switch t.OwnerType(owner) {
	case tree.EphemeralNormal:
		return "ephemeral"
	case tree.EphemeralContainer:
		return "container"
	case tree.EphemeralTTL:
		return "ttl"
	}
	return "persistent"
}

func logDump(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("log-dump", stderr, "<log file>")
	pos, err := parseTool(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	lr, err := persistence.OpenLogFile(pos[0], 0)
	if err != nil {
		fmt.Fprintf(stderr, "zkd log-dump: %v\n", err)
		return 1
	}
	defer lr.Close()
	w := bufio.NewWriterSize(stdout, 256<<10)
	defer w.Flush()
	if lr.Header.Magic != persistence.TxnLogMagic {
		fmt.Fprintf(stderr, "zkd log-dump: %s: invalid magic number 0x%08x, not a txn log\n", pos[0], uint32(lr.Header.Magic))
		return 1
	}
	fmt.Fprintf(w, "ZooKeeper Transactional Log File with dbid %d txnlog format version %d\n", lr.Header.DBID, lr.Header.Version)
	count := 0
	for {
		entry, err := lr.Next()
		if err == io.EOF {
			fmt.Fprintf(w, "EOF reached after %d txns.\n", count)
			return 0
		}
		if err != nil {
			w.Flush()
			fmt.Fprintf(stderr, "zkd log-dump: after %d txns: %v\n", count, err)
			return 1
		}
		txn, err := wire.DecodeTxn(entry)
		if err != nil {
			w.Flush()
			fmt.Fprintf(stderr, "zkd log-dump: %s offset %d: undecodable txn: %v\n", pos[0], lr.RecordOffset(), err)
			return 1
		}
		h := &txn.Header
		fmt.Fprintf(w, "%s session 0x%s cxid 0x%s zxid 0x%s %s %s", time.UnixMilli(h.Time).Format("1/2/06, 3:04:05 PM MST"),
			hexID(h.ClientID), strconv.FormatUint(uint64(uint32(h.Cxid)), 16), hexID(h.Zxid), txn.Type(), recordString(txn.Type(), txn.Record))
		if txn.Digest != nil {
			fmt.Fprintf(w, " %d,%d\n", txn.Digest.Version, txn.Digest.TreeDigest)
		} else {
			io.WriteString(w, " null\n")
		}
		count++
	}
}

// recordString renders a txn record in jute's CSV style (Record.toString):
// strings as 'text, buffers as #hex, vectors as v{...}, records as s{...}.
func recordString(op wire.OpCode, rec jute.Record) string {
	var b strings.Builder
	writeRecord(&b, op, rec)
	return b.String()
}

func csvString(s string) string {
	r := strings.NewReplacer("%", "%25", "\x00", "%00", "\n", "%0A", "\r", "%0D", ",", "%2C", "}", "%7D")
	return "'" + r.Replace(s)
}

func csvBuffer(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return "#" + hex.EncodeToString(b)
}

func csvACLs(acls []jute.ACL) string {
	parts := make([]string, len(acls))
	for i, a := range acls {
		parts[i] = fmt.Sprintf("s{%d,s{%s,%s}}", a.Perms, csvString(a.ID.Scheme), csvString(a.ID.ID))
	}
	return "v{" + strings.Join(parts, ",") + "}"
}

func csvBool(v bool) string {
	if v {
		return "T"
	}
	return "F"
}

func writeRecord(b *strings.Builder, op wire.OpCode, rec jute.Record) {
	switch r := rec.(type) {
	case nil:
	case *jute.CreateTxn:
		fmt.Fprintf(b, "%s,%s,%s,%s,%d", csvString(r.Path), csvBuffer(r.Data), csvACLs(r.ACL), csvBool(r.Ephemeral), r.ParentCVersion)
	case *jute.CreateTTLTxn:
		fmt.Fprintf(b, "%s,%s,%s,%d,%d", csvString(r.Path), csvBuffer(r.Data), csvACLs(r.ACL), r.ParentCVersion, r.TTL)
	case *jute.CreateContainerTxn:
		fmt.Fprintf(b, "%s,%s,%s,%d", csvString(r.Path), csvBuffer(r.Data), csvACLs(r.ACL), r.ParentCVersion)
	case *jute.DeleteTxn:
		b.WriteString(csvString(r.Path))
	case *jute.SetDataTxn:
		fmt.Fprintf(b, "%s,%s,%d", csvString(r.Path), csvBuffer(r.Data), r.Version)
	case *jute.SetACLTxn:
		fmt.Fprintf(b, "%s,%s,%d", csvString(r.Path), csvACLs(r.ACL), r.Version)
	case *jute.CheckVersionTxn:
		fmt.Fprintf(b, "%s,%d", csvString(r.Path), r.Version)
	case *jute.CreateSessionTxn:
		fmt.Fprintf(b, "%d", r.TimeOut)
	case *jute.CloseSessionTxn:
		parts := make([]string, len(r.Paths2Delete))
		for i, p := range r.Paths2Delete {
			parts[i] = csvString(p)
		}
		b.WriteString("v{" + strings.Join(parts, ",") + "}")
	case *jute.ErrorTxn:
		fmt.Fprintf(b, "%d", r.Err)
	case *jute.MultiTxn:
		b.WriteString("v{")
		for i, s := range r.Txns {
			if i > 0 {
				b.WriteByte(',')
			}
			sop := wire.OpCode(s.Type)
			fmt.Fprintf(b, "s{%s,", sop)
			sub, ok := tree.TxnRecordForMulti(sop)
			if ok && jute.Unmarshal(s.Data, sub) == nil {
				writeRecord(b, sop, sub)
			} else {
				b.WriteString(csvBuffer(s.Data))
			}
			b.WriteByte('}')
		}
		b.WriteString("}")
	default:
		fmt.Fprintf(b, "%+v", rec)
	}
}

func verifyDataDir(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("verify", stderr, "[--strict] [-q] <dataDir> [dataLogDir]")
	strict := fs.Bool("strict", false, "fail on warnings too (damage that restore repairs, such as a torn log tail)")
	quiet := fs.Bool("q", false, "print only problems and the summary")
	pos, err := parseTool(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return 2
	}
	dataDir, logDir := pos[0], ""
	if len(pos) == 2 {
		logDir = pos[1]
	}
	for _, d := range []string{dataDir, logDir} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, persistence.VersionDir)); err != nil {
			fmt.Fprintf(stderr, "zkd verify: %v\n", err)
			return 1
		}
	}
	o := persistence.DefaultOptions(dataDir, logDir)
	o.ExtendedTypes = true
	r := persistence.Verify(dataDir, logDir, o)
	for _, f := range r.Findings {
		if *quiet && f.Sev == persistence.SevOK {
			continue
		}
		fmt.Fprintf(stdout, "%-5s %s: %s\n", f.Sev, f.File, f.Msg)
	}
	fmt.Fprintf(stdout, "%d errors, %d warnings\n", r.Errors, r.Warnings)
	if r.Errors > 0 || (*strict && r.Warnings > 0) {
		return 1
	}
	return 0
}

func purgeDataDir(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("purge", stderr, "<dataDir> [dataLogDir] -n <count>")
	count := fs.Int("n", 0, "number of newest snapshots to keep (at least 3), with the logs they need")
	pos, err := parseTool(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) < 1 || len(pos) > 2 || *count == 0 {
		fs.Usage()
		return 2
	}
	if *count < persistence.MinRetain {
		fmt.Fprintf(stderr, "zkd purge: -n must be at least %d\n", persistence.MinRetain)
		return 2
	}
	logDir := ""
	if len(pos) == 2 {
		logDir = pos[1]
	}
	for _, d := range append([]string{pos[0]}, logDir) {
		if d == "" {
			continue
		}
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			fmt.Fprintf(stderr, "zkd purge: %s is not a directory\n", d)
			return 1
		}
	}
	removed, err := persistence.Purge(pos[0], logDir, *count)
	for _, p := range removed {
		fmt.Fprintf(stdout, "Removing file: %s\n", p)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			fmt.Fprintf(stderr, "zkd purge: failed to remove %s: %v\n", pe.Path, pe.Err)
		} else {
			fmt.Fprintf(stderr, "zkd purge: %v\n", err)
		}
		return 1
	}
	return 0
}
