package server

import (
	"fmt"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

// changeRecord is what prep knows of a node that txns not yet applied
// will change (ZooKeeperServer.ChangeRecord): validation of later requests
// reads these before the tree.
type changeRecord struct {
	zxid       int64
	path       string
	deleted    bool
	stat       jute.StatPersisted
	childCount int
	acl        []jute.ACL
	data       []byte
	nodeDigest uint32
	treeDigest uint64 // tree digest once this change is applied
}

func (r *changeRecord) duplicate(zxid int64) *changeRecord {
	d := *r
	d.zxid = zxid
	return &d
}

// prepState holds the outstanding changes, in zxid order.
type prepState struct {
	outstanding []*changeRecord
	byPath      map[string]*changeRecord
	// During a multi, the records each touched path had before it, so a
	// failed multi rolls back to them.
	inMulti    bool
	multiSaved map[string]*changeRecord
}

func (p *processor) record(path string) (*changeRecord, error) {
	if r := p.prep.byPath[path]; r != nil {
		if r.deleted {
			return nil, wire.ErrNoNode
		}
		return r, nil
	}
	n := p.srv.tree.Node(path)
	if n == nil {
		return nil, wire.ErrNoNode
	}
	return &changeRecord{
		zxid: -1, path: path, stat: n.Stat, childCount: n.NumChildren(),
		acl: p.srv.tree.ACLOf(n), data: n.Data(), nodeDigest: p.nodeDigest(path, n),
	}, nil
}

func (p *processor) addChange(r *changeRecord) {
	ps := &p.prep
	if ps.inMulti {
		if _, saved := ps.multiSaved[r.path]; !saved {
			ps.multiSaved[r.path] = ps.byPath[r.path]
		}
	}
	ps.outstanding = append(ps.outstanding, r)
	ps.byPath[r.path] = r
}

// currentDigest is the tree digest once every outstanding txn applies.
func (p *processor) currentDigest() uint64 {
	if n := len(p.prep.outstanding); n > 0 {
		return p.prep.outstanding[n-1].treeDigest
	}
	return uint64(p.srv.tree.Digest())
}

// nodeDigest is the digest of the tree's node n at path, for its change
// record: only digest-enabled servers read those.
func (p *processor) nodeDigest(path string, n *tree.Node) uint32 {
	if !p.srv.digestEnabled {
		return 0
	}
	return n.Digest(path)
}

// setDigest computes a record's node digest and the tree digest after
// it, given the node digest it replaces (on digest-enabled servers: the
// others never read them).
func (p *processor) setDigest(r *changeRecord, prev uint32) {
	if !p.srv.digestEnabled {
		return
	}
	if r.deleted {
		r.nodeDigest = 0
	} else {
		r.nodeDigest = tree.NodeDigest(r.path, r.data, &r.stat)
	}
	r.treeDigest = p.currentDigest() - uint64(prev) + uint64(r.nodeDigest)
}

// applied drops the records of txns up to zxid once they are in the tree.
func (p *processor) applied(zxid int64) {
	ps := &p.prep
	i := 0
	for ; i < len(ps.outstanding) && ps.outstanding[i].zxid <= zxid; i++ {
		r := ps.outstanding[i]
		if ps.byPath[r.path] == r {
			delete(ps.byPath, r.path)
		}
		ps.outstanding[i] = nil
	}
	ps.outstanding = ps.outstanding[i:]
	if len(ps.outstanding) == 0 {
		ps.outstanding = ps.outstanding[:0:0]
	}
}

// rollbackMulti removes the records a failed multi added.
func (p *processor) rollbackMulti(zxid int64) {
	ps := &p.prep
	for len(ps.outstanding) > 0 && ps.outstanding[len(ps.outstanding)-1].zxid == zxid {
		ps.outstanding = ps.outstanding[:len(ps.outstanding)-1]
	}
	for path, prev := range ps.multiSaved {
		if prev == nil {
			delete(ps.byPath, path)
		} else {
			ps.byPath[path] = prev
		}
	}
	clear(ps.multiSaved)
}

func (p *processor) checkSession(id int64) error {
	s := p.srv.sessions.Get(id)
	if s == nil {
		return wire.ErrUnknownSession
	}
	if s.closing.Load() {
		return wire.ErrSessionExpired
	}
	return nil
}

// prepRequest turns a write request into its txn
// (PrepRequestProcessor.pRequest). Failures become an ErrorTxn that still
// takes a zxid, as ZooKeeper logs them.
func (p *processor) prepRequest(r *Request) {
	if r.op == wire.OpSync {
		return // no txn; it passes through in order
	}
	zxid := p.nextZxid()
	hdr := jute.TxnHeader{ClientID: r.sessionID, Cxid: r.xid, Zxid: zxid, Time: p.now(), Type: int32(r.op)}
	txn := &wire.Txn{Header: hdr}
	r.txn = txn
	if r.op == wire.OpMulti {
		p.prepMulti(r, txn)
		return
	}
	var rec jute.Record
	var err error
	switch {
	case r.op == wire.OpDeleteContainer && r.conn != nil:
		// Server-internal ops sent by a client fail as in ZooKeeper, which
		// cannot parse them: a bad path, an unreadable session request.
		err = wire.ErrBadArguments
	case r.op == wire.OpCreateSession && r.connect == nil:
		err = wire.ErrMarshallingError
	default:
		rec, err = p.prepOp(r, r.op, r.body, &txn.Header)
	}
	if err != nil {
		code := wire.Code(err)
		txn.Header.Type = int32(wire.OpError)
		txn.Record = &jute.ErrorTxn{Err: int32(code)}
		r.err = code
		if code != wire.ErrNoNode && code != wire.ErrNodeExists && code != wire.ErrBadVersion && code != wire.ErrNotEmpty {
			p.srv.log.Info().Str("session", hexID(r.sessionID)).Stringer("op", r.op).Str("err", code.Name()).
				Msg("request failed")
		}
		return
	}
	txn.Record = rec
	if p.srv.digestEnabled {
		txn.Digest = &jute.TxnDigest{Version: wire.DigestVersion, TreeDigest: int64(p.currentDigest())}
	}
}

func (p *processor) prepMulti(r *Request, txn *wire.Txn) {
	m, ok := r.body.(*wire.MultiRequest)
	if !ok {
		r.err = wire.ErrMarshallingError
		txn.Header.Type = int32(wire.OpError)
		txn.Record = &jute.ErrorTxn{Err: int32(wire.ErrMarshallingError)}
		return
	}
	ps := &p.prep
	ps.inMulti = true
	if ps.multiSaved == nil {
		ps.multiSaved = make(map[string]*changeRecord)
	}
	var failed error
	mt := &jute.MultiTxn{Txns: make([]jute.Txn, 0, len(m.Ops))}
	for _, op := range m.Ops {
		var typ wire.OpCode
		var rec jute.Record
		if failed != nil {
			typ = wire.OpError
			rec = &jute.ErrorTxn{Err: int32(wire.ErrRuntimeInconsistency)}
		} else {
			if !op.Type.IsWrite() {
				// A read op in a write multi is a malformed request.
				ps.inMulti = false
				p.rollbackMulti(txn.Header.Zxid)
				r.err = wire.ErrMarshallingError
				txn.Header.Type = int32(wire.OpError)
				txn.Record = &jute.ErrorTxn{Err: int32(wire.ErrMarshallingError)}
				return
			}
			var err error
			typ = multiOpType(op)
			body := op.Record
			if t, ok := body.(*jute.CreateTTLRequest); ok && typ != wire.OpCreateTTL {
				// Op.create drops the ttl of a non-TTL mode.
				body = &jute.CreateRequest{Path: t.Path, Data: t.Data, ACL: t.ACL, Flags: t.Flags}
			}
			rec, err = p.prepOp(r, typ, body, &txn.Header)
			if err != nil {
				failed = err
				typ = wire.OpError
				rec = &jute.ErrorTxn{Err: int32(wire.Code(err))}
				r.err = wire.Code(err)
				p.rollbackMulti(txn.Header.Zxid)
			}
		}
		mt.Txns = append(mt.Txns, jute.Txn{Type: int32(typ), Data: jute.Marshal(rec)})
	}
	ps.inMulti = false
	clear(ps.multiSaved)
	txn.Record = mt
	if p.srv.digestEnabled {
		txn.Digest = &jute.TxnDigest{Version: wire.DigestVersion, TreeDigest: int64(p.currentDigest())}
	}
}

// multiOpType is the type ZooKeeper's MultiOperationRecord gives a create
// op (Op.create): the create mode decides, not the opcode, so create2
// becomes create and a create with the container flag a container.
func multiOpType(op wire.MultiOp) wire.OpCode {
	var flags int32
	switch r := op.Record.(type) {
	case *jute.CreateRequest:
		flags = r.Flags
	case *jute.CreateTTLRequest:
		flags = r.Flags
	default:
		return op.Type
	}
	mode := wire.CreateMode(flags)
	switch {
	case mode.TTL():
		return wire.OpCreateTTL
	case mode.Container():
		return wire.OpCreateContainer
	}
	return wire.OpCreate
}

// prepOp validates one op against the tree and the outstanding changes
// and returns its txn record (PrepRequestProcessor.pRequest2Txn).
func (p *processor) prepOp(r *Request, op wire.OpCode, body jute.Record, hdr *jute.TxnHeader) (jute.Record, error) {
	s := p.srv
	zxid := hdr.Zxid
	switch op {
	case wire.OpCreate, wire.OpCreate2, wire.OpCreateContainer, wire.OpCreateTTL:
		return p.prepCreate(r, op, body, hdr)
	case wire.OpDeleteContainer:
		path := body.(*jute.DeleteTxn).Path
		parentPath, err := specialParent(path)
		if err != nil {
			return nil, err
		}
		node, err := p.record(path)
		if err != nil {
			return nil, err
		}
		if node.childCount > 0 {
			return nil, wire.ErrNotEmpty
		}
		if s.tree.OwnerType(node.stat.EphemeralOwner) == tree.EphemeralNormal {
			return nil, wire.ErrBadVersion
		}
		if err := p.deleteChanges(parentPath, node, zxid); err != nil {
			return nil, err
		}
		return &jute.DeleteTxn{Path: path}, nil
	case wire.OpDelete:
		if err := p.checkSession(r.sessionID); err != nil {
			return nil, err
		}
		req := body.(*jute.DeleteRequest)
		parentPath, err := specialParent(req.Path)
		if err != nil {
			return nil, err
		}
		parent, err := p.record(parentPath)
		if err != nil {
			return nil, err
		}
		if err := s.auth.Check(parent.acl, wire.PermDelete, r.auth); err != nil {
			return nil, err
		}
		node, err := p.record(req.Path)
		if err != nil {
			return nil, err
		}
		if _, err := checkAndIncVersion(node.stat.Version, req.Version); err != nil {
			return nil, err
		}
		if node.childCount > 0 {
			return nil, wire.ErrNotEmpty
		}
		if err := p.deleteChanges(parentPath, node, zxid); err != nil {
			return nil, err
		}
		return &jute.DeleteTxn{Path: req.Path}, nil
	case wire.OpSetData:
		if err := p.checkSession(r.sessionID); err != nil {
			return nil, err
		}
		req := body.(*jute.SetDataRequest)
		if err := tree.ValidatePath(req.Path, false); err != nil {
			return nil, err
		}
		node, err := p.record(req.Path)
		if err != nil {
			return nil, err
		}
		if err := s.auth.Check(node.acl, wire.PermWrite, r.auth); err != nil {
			return nil, err
		}
		if err := validateQuotaData(req.Path, req.Data); err != nil {
			return nil, err
		}
		if err := p.checkQuota(req.Path, node.data, req.Data, false); err != nil {
			return nil, err
		}
		v, err := checkAndIncVersion(node.stat.Version, req.Version)
		if err != nil {
			return nil, err
		}
		nr := node.duplicate(zxid)
		nr.stat.Version = v
		nr.stat.Mtime = hdr.Time
		nr.stat.Mzxid = zxid
		nr.data = req.Data
		p.setDigest(nr, node.nodeDigest)
		p.addChange(nr)
		return &jute.SetDataTxn{Path: req.Path, Data: req.Data, Version: v}, nil
	case wire.OpReconfig:
		if !s.cfg.ReconfigEnabled {
			return nil, wire.ErrReconfigDisabled
		}
		if err := p.checkSession(r.sessionID); err != nil {
			return nil, err
		}
		// Standalone servers cannot reconfigure.
		return nil, wire.ErrUnimplemented
	case wire.OpSetACL:
		if err := p.checkSession(r.sessionID); err != nil {
			return nil, err
		}
		req := body.(*jute.SetACLRequest)
		if err := tree.ValidatePath(req.Path, false); err != nil {
			return nil, err
		}
		acl, err := s.auth.FixupACL(req.ACL, r.auth)
		if err != nil {
			return nil, err
		}
		node, err := p.record(req.Path)
		if err != nil {
			return nil, err
		}
		if err := s.auth.Check(node.acl, wire.PermAdmin, r.auth); err != nil {
			return nil, err
		}
		v, err := checkAndIncVersion(node.stat.Aversion, req.Version)
		if err != nil {
			return nil, err
		}
		nr := node.duplicate(zxid)
		nr.stat.Aversion = v
		nr.acl = acl
		p.setDigest(nr, node.nodeDigest)
		p.addChange(nr)
		return &jute.SetACLTxn{Path: req.Path, ACL: acl, Version: v}, nil
	case wire.OpCreateSession:
		return body, nil
	case wire.OpCloseSession:
		return p.prepCloseSession(r, zxid)
	case wire.OpCheck:
		if err := p.checkSession(r.sessionID); err != nil {
			return nil, err
		}
		req := body.(*jute.CheckVersionRequest)
		if err := tree.ValidatePath(req.Path, false); err != nil {
			return nil, err
		}
		node, err := p.record(req.Path)
		if err != nil {
			return nil, err
		}
		if err := s.auth.Check(node.acl, wire.PermRead, r.auth); err != nil {
			return nil, err
		}
		v, err := checkAndIncVersion(node.stat.Version, req.Version)
		if err != nil {
			return nil, err
		}
		return &jute.CheckVersionTxn{Path: req.Path, Version: v}, nil
	}
	return nil, wire.ErrUnimplemented
}

// specialParent returns the parent of a path to delete; the root and the
// system nodes cannot be deleted.
func specialParent(path string) (string, error) {
	i := lastSlash(path)
	if i < 0 || hasNUL(path) || isSpecialPath(path) {
		return "", wire.ErrBadArguments
	}
	return parentOf(path, i), nil
}

func isSpecialPath(p string) bool {
	return p == "/" || p == tree.ZookeeperPath || p == tree.QuotaPath || p == tree.ConfigPath
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

func hasNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// parentOf is path[:i], with the root's empty name mapped to "/".
func parentOf(path string, i int) string {
	if i == 0 {
		return "/"
	}
	return path[:i]
}

// deleteChanges records a delete: the parent loses a child and its pzxid
// moves, the node goes.
func (p *processor) deleteChanges(parentPath string, node *changeRecord, zxid int64) error {
	parent, err := p.record(parentPath)
	if err != nil {
		return err
	}
	pr := parent.duplicate(zxid)
	pr.childCount--
	pr.stat.Pzxid = zxid
	p.setDigest(pr, parent.nodeDigest)
	p.addChange(pr)
	nr := &changeRecord{zxid: zxid, path: node.path, deleted: true}
	p.setDigest(nr, node.nodeDigest)
	p.addChange(nr)
	return nil
}

// checkAndIncVersion checks an expected version (-1: any) and returns the
// next one, skipping -1 on wrap-around as ZooKeeper does.
func checkAndIncVersion(current, expected int32) (int32, error) {
	if expected != -1 && expected != current {
		return 0, wire.ErrBadVersion
	}
	next := current + 1
	if next == -1 {
		next = 0
	}
	return next, nil
}

const maxTTL = 0xffffffffff // 2^40-1 ms

func (p *processor) prepCreate(r *Request, op wire.OpCode, body jute.Record, hdr *jute.TxnHeader) (jute.Record, error) {
	s := p.srv
	var path string
	var data []byte
	var acl []jute.ACL
	var flags int32
	ttl := int64(-1)
	switch b := body.(type) {
	case *jute.CreateTTLRequest:
		path, data, acl, flags, ttl = b.Path, b.Data, b.ACL, b.Flags, b.TTL
	case *jute.CreateRequest:
		path, data, acl, flags = b.Path, b.Data, b.ACL, b.Flags
	default:
		return nil, wire.ErrMarshallingError
	}
	mode := wire.CreateMode(flags)
	if !mode.Valid() {
		return nil, wire.ErrBadArguments
	}
	if _, isTTL := body.(*jute.CreateTTLRequest); op == wire.OpCreateTTL && !isTTL {
		return nil, wire.ErrMarshallingError // a TTL op must carry a TTL
	}
	if mode.TTL() && !s.tree.ExtendedTypes {
		return nil, wire.ErrUnimplemented
	}
	if mode.TTL() {
		if ttl <= 0 || ttl > maxTTL {
			return nil, wire.ErrBadArguments
		}
	} else if ttl >= 0 {
		return nil, wire.ErrBadArguments
	}
	if err := p.checkSession(r.sessionID); err != nil {
		return nil, err
	}
	i := lastSlash(path)
	if i < 0 || hasNUL(path) {
		return nil, wire.ErrBadArguments
	}
	parentPath := parentOf(path, i)
	acl, err := s.auth.FixupACL(acl, r.auth)
	if err != nil {
		return nil, err
	}
	parent, err := p.record(parentPath)
	if err != nil {
		return nil, err
	}
	if err := s.auth.Check(parent.acl, wire.PermCreate, r.auth); err != nil {
		return nil, err
	}
	if mode.Sequential() {
		path = fmt.Sprintf("%s%010d", path, parent.stat.Cversion)
	}
	if err := tree.ValidatePath(path, false); err != nil {
		return nil, err
	}
	if _, err := p.record(path); err == nil {
		return nil, wire.ErrNodeExists
	}
	if s.tree.OwnerType(parent.stat.EphemeralOwner) == tree.EphemeralNormal {
		return nil, wire.ErrNoChildrenForEphemerals
	}
	newCversion := parent.stat.Cversion + 1
	if err := validateQuotaData(path, data); err != nil {
		return nil, err
	}
	if err := p.checkQuota(path, nil, data, true); err != nil {
		return nil, err
	}
	if op == wire.OpCreateTTL && !mode.TTL() {
		// createTTL with a non-TTL mode (and a negative ttl, the only one
		// allowed) makes the node that mode names, as a multi would;
		// ZooKeeper would log a TTL txn it cannot apply.
		op = wire.OpCreate
		if mode.Container() {
			op = wire.OpCreateContainer
		}
	}
	var owner int64
	var rec jute.Record
	switch {
	case op == wire.OpCreateContainer:
		owner = tree.ContainerOwner
		rec = &jute.CreateContainerTxn{Path: path, Data: data, ACL: acl, ParentCVersion: newCversion}
	case op == wire.OpCreateTTL:
		owner = s.tree.TTLOwner(ttl)
		rec = &jute.CreateTTLTxn{Path: path, Data: data, ACL: acl, ParentCVersion: newCversion, TTL: ttl}
	default:
		if mode.Ephemeral() {
			owner = r.sessionID
		}
		rec = &jute.CreateTxn{Path: path, Data: data, ACL: acl, Ephemeral: mode.Ephemeral(), ParentCVersion: newCversion}
	}
	zxid := hdr.Zxid
	pr := parent.duplicate(zxid)
	pr.childCount++
	pr.stat.Cversion = newCversion
	pr.stat.Pzxid = zxid
	p.setDigest(pr, parent.nodeDigest)
	p.addChange(pr)
	nr := &changeRecord{
		zxid: zxid, path: path, acl: acl, data: data,
		stat: jute.StatPersisted{Czxid: zxid, Mzxid: zxid, Pzxid: zxid, Ctime: hdr.Time, Mtime: hdr.Time, EphemeralOwner: owner},
	}
	p.setDigest(nr, 0)
	p.addChange(nr)
	return rec, nil
}

// prepCloseSession lists the session's ephemerals, counting those that
// outstanding txns create or delete.
func (p *processor) prepCloseSession(r *Request, zxid int64) (jute.Record, error) {
	s := p.srv
	set := make(map[string]struct{})
	for _, path := range s.tree.Ephemerals(r.sessionID) {
		set[path] = struct{}{}
	}
	for _, c := range p.prep.outstanding {
		if c.deleted {
			delete(set, c.path)
		} else if c.stat.EphemeralOwner == r.sessionID {
			set[c.path] = struct{}{}
		}
	}
	paths := make([]string, 0, len(set))
	for path := range set {
		paths = append(paths, path)
		node, err := p.record(path)
		if err != nil {
			continue
		}
		i := lastSlash(path)
		if i < 0 {
			continue
		}
		if err := p.deleteChanges(parentOf(path, i), node, zxid); err != nil {
			continue
		}
	}
	if sess := s.sessions.Get(r.sessionID); sess != nil {
		sess.closing.Store(true)
	}
	if !s.closeSessionTxn {
		return nil, nil
	}
	return &jute.CloseSessionTxn{Paths2Delete: paths}, nil
}

// validateQuotaData refuses malformed writes to quota nodes.
func validateQuotaData(path string, data []byte) error {
	const prefix = tree.QuotaPath + "/"
	if len(path) <= len(prefix) || path[:len(prefix)] != prefix {
		return nil
	}
	_, name := tree.Split(path)
	if name != tree.QuotaStatNode && name != tree.QuotaLimitNode {
		return nil
	}
	if tree.Parent(path) == tree.QuotaPath {
		return wire.ErrBadArguments
	}
	return nil
}

// checkQuota enforces hard quotas when zookeeper.enforceQuota is set.
func (p *processor) checkQuota(path string, lastData, data []byte, create bool) error {
	s := p.srv
	if !s.enforceQuota {
		return nil
	}
	prefix := s.tree.QuotaPrefix(path)
	if prefix == "" {
		return nil
	}
	bytesDiff := int64(len(data))
	countDiff := int64(0)
	if create {
		countDiff = 1
	} else {
		bytesDiff -= int64(len(lastData))
	}
	limits := s.tree.QuotaLimits(prefix)
	if limits == nil {
		return nil
	}
	checkCount := countDiff != 0 && (limits.Get("count") > -1 || limits.Get("countHardLimit") > -1)
	checkBytes := bytesDiff != 0 && (limits.Get("bytes") > -1 || limits.Get("byteHardLimit") > -1)
	if !checkCount && !checkBytes {
		return nil
	}
	cur := s.tree.QuotaStats(prefix)
	if cur == nil {
		return nil
	}
	if checkCount {
		hard := limits.Get("countHardLimit") > -1
		limit := limits.Get("count")
		if hard {
			limit = limits.Get("countHardLimit")
		}
		if n := cur.Get("count") + countDiff; n > limit {
			s.log.Warn().Str("path", prefix).Int64("count", n).Int64("limit", limit).Bool("hard", hard).Msg("quota exceeded")
			if hard {
				return wire.ErrQuotaExceeded
			}
		}
	}
	if checkBytes {
		hard := limits.Get("byteHardLimit") > -1
		limit := limits.Get("bytes")
		if hard {
			limit = limits.Get("byteHardLimit")
		}
		if n := cur.Get("bytes") + bytesDiff; n > limit {
			s.log.Warn().Str("path", prefix).Int64("bytes", n).Int64("limit", limit).Bool("hard", hard).Msg("quota exceeded")
			if hard {
				return wire.ErrQuotaExceeded
			}
		}
	}
	return nil
}
