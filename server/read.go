package server

import (
	"strings"
	"time"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

// execRead answers a read from the tree. The caller holds the tree lock
// (read or write) and c.mu, so a notification for a change this read sees
// is already queued ahead of the reply, and a watch it sets cannot miss a
// change applied after it.
func (s *Server) execRead(c *Conn, xid int32, op wire.OpCode, body []byte, auth []jute.Id, received, now time.Time) {
	zxid := s.tree.LastProcessedZxid
	defer c.recordLatency(op, xid, zxid, received, now)
	switch op {
	case wire.OpPing:
		c.reply(wire.XidPing, zxid, wire.ErrOK, nil)
		return
	case wire.OpGetData, wire.OpExists:
		s.readNode(c, xid, op, body, auth, zxid)
		return
	}
	rec, _ := wire.RequestRecord(op)
	if rec != nil {
		if err := jute.Unmarshal(body, rec); err != nil {
			s.log.Warn().Str("session", hexID(c.SessionID())).Stringer("op", op).Err(err).Msg("malformed request")
			c.reply(xid, zxid, wire.ErrMarshallingError, nil)
			return
		}
	}
	var resp jute.Record
	err := wire.ErrOK
	switch op {
	case wire.OpGetChildren:
		r := rec.(*jute.GetChildrenRequest)
		resp, err = s.getChildren(c, r.Path, r.Watch, auth, false)
	case wire.OpGetChildren2:
		r := rec.(*jute.GetChildren2Request)
		resp, err = s.getChildren(c, r.Path, r.Watch, auth, true)
	case wire.OpGetACL:
		resp, err = s.getACL(rec.(*jute.GetACLRequest).Path, auth)
	case wire.OpGetAllChildrenNumber:
		path := rec.(*jute.GetAllChildrenNumberRequest).Path
		n := s.tree.Node(path)
		if n == nil {
			err = wire.ErrNoNode
			break
		}
		if err = wire.Code(s.auth.Check(s.tree.ACLOf(n), wire.PermRead, auth)); err != wire.ErrOK {
			break
		}
		resp = &jute.GetAllChildrenNumberResponse{TotalNumber: int32(s.tree.CountDescendants(path))}
	case wire.OpGetEphemerals:
		prefix := rec.(*jute.GetEphemeralsRequest).PrefixPath
		all := s.tree.Ephemerals(c.SessionID())
		out := make([]string, 0, len(all))
		blank := strings.TrimSpace(prefix) == "" || strings.TrimSpace(prefix) == "/"
		javaHashSetOrder(all, func(p string) int64 {
			if n := s.tree.Node(p); n != nil {
				return n.Stat.Czxid
			}
			return 0
		})
		for _, p := range all {
			if blank || strings.HasPrefix(p, prefix) {
				out = append(out, p)
			}
		}
		resp = &jute.GetEphemeralsResponse{Ephemerals: out}
	case wire.OpWhoAmI:
		resp = &jute.WhoAmIResponse{ClientInfo: ClientInfos(auth)}
	case wire.OpSetWatches:
		w := rec.(*jute.SetWatches)
		s.setWatches(c, w.RelativeZxid, w.DataWatches, w.ExistWatches, w.ChildWatches, nil, nil)
		c.reply(xid, zxid, wire.ErrOK, nil)
		return
	case wire.OpSetWatches2:
		w := rec.(*jute.SetWatches2)
		s.setWatches(c, w.RelativeZxid, w.DataWatches, w.ExistWatches, w.ChildWatches, w.PersistentWatches, w.PersistentRecursiveWatches)
		c.reply(xid, zxid, wire.ErrOK, nil)
		return
	case wire.OpAddWatch:
		r := rec.(*jute.AddWatchRequest)
		switch r.Mode {
		case wire.AddWatchPersistent:
			s.watches.Data.Add(r.Path, c, modePersist)
			s.watches.Child.Add(r.Path, c, modePersist)
		case wire.AddWatchPersistentRecursive:
			s.watches.Data.Add(r.Path, c, modeRecursive)
		default:
			err = wire.ErrMarshallingError // WatcherMode.fromZooDef throws
		}
		if err == wire.ErrOK {
			resp = &jute.ErrorResponse{Err: 0}
		}
	case wire.OpCheckWatches, wire.OpRemoveWatches:
		var path string
		var typ int32
		if op == wire.OpCheckWatches {
			r := rec.(*jute.CheckWatchesRequest)
			path, typ = r.Path, r.Type
		} else {
			r := rec.(*jute.RemoveWatchesRequest)
			path, typ = r.Path, r.Type
		}
		if typ < int32(wire.WatcherChildren) || typ > int32(wire.WatcherPersistentRecursive) {
			err = wire.ErrMarshallingError // WatcherType.fromInt throws
		} else if !s.watchOp(c, path, wire.WatcherType(typ), op == wire.OpRemoveWatches) {
			err = wire.ErrNoWatcher
		}
	case wire.OpMultiRead:
		resp, err = s.multiRead(c, rec.(*wire.MultiRequest), auth)
	default:
		err = wire.ErrUnimplemented
	}
	c.reply(xid, zxid, err, resp)
}

// readNode answers getData and exists without allocating: the path is
// looked up straight from the request bytes and the reply is encoded from
// the node.
func (s *Server) readNode(c *Conn, xid int32, op wire.OpCode, body []byte, auth []jute.Id, zxid int64) {
	var d jute.Decoder
	d.Reset(body)
	path := d.StringBytes()
	watch := d.Bool()
	if d.Err() != nil {
		c.reply(xid, zxid, wire.ErrMarshallingError, nil)
		return
	}
	n := s.tree.NodeBytes(path)
	if op == wire.OpExists {
		// exists sets a watch whether or not the node is there (a watch on
		// a missing node is the exist watch) and checks no ACL.
		if indexByte(path, 0) >= 0 {
			c.reply(xid, zxid, wire.ErrBadArguments, nil)
			return
		}
		if watch {
			s.watches.Data.Add(string(path), c, modeStandard)
		}
		if n == nil {
			c.reply(xid, zxid, wire.ErrNoNode, nil)
			return
		}
		off := c.beginReply(xid, zxid, wire.ErrOK)
		s.encodeStat(&c.enc, n)
		c.endReply(off)
		return
	}
	if n == nil {
		c.reply(xid, zxid, wire.ErrNoNode, nil)
		return
	}
	if err := s.auth.Check(s.tree.ACLOf(n), wire.PermRead, auth); err != nil {
		c.reply(xid, zxid, wire.Code(err), nil)
		return
	}
	if watch {
		s.watches.Data.Add(string(path), c, modeStandard)
	}
	off := c.beginReply(xid, zxid, wire.ErrOK)
	c.enc.Buffer(n.Data())
	s.encodeStat(&c.enc, n)
	c.endReply(off)
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// encodeStat writes a node's client Stat.
func (s *Server) encodeStat(e *jute.Encoder, n *tree.Node) {
	st := &n.Stat
	e.Long(st.Czxid)
	e.Long(st.Mzxid)
	e.Long(st.Ctime)
	e.Long(st.Mtime)
	e.Int(st.Version)
	e.Int(tree.ClientCversion(st.Cversion, n.NumChildren()))
	e.Int(st.Aversion)
	e.Long(s.tree.ClientOwner(st.EphemeralOwner))
	e.Int(int32(len(n.Data())))
	e.Int(int32(n.NumChildren()))
	e.Long(st.Pzxid)
}

func (s *Server) getChildren(c *Conn, path string, watch bool, auth []jute.Id, withStat bool) (jute.Record, wire.Error) {
	n := s.tree.Node(path)
	if n == nil {
		return nil, wire.ErrNoNode
	}
	if err := s.auth.Check(s.tree.ACLOf(n), wire.PermRead, auth); err != nil {
		return nil, wire.Code(err)
	}
	if watch {
		s.watches.Child.Add(path, c, modeStandard)
	}
	children := n.ChildNames()
	if withStat {
		return &jute.GetChildren2Response{Children: children, Stat: s.tree.ClientStat(n)}, wire.ErrOK
	}
	return &jute.GetChildrenResponse{Children: children}, wire.ErrOK
}

// getACL needs READ or ADMIN; without ADMIN digest ids are masked.
func (s *Server) getACL(path string, auth []jute.Id) (jute.Record, wire.Error) {
	n := s.tree.Node(path)
	if n == nil {
		return nil, wire.ErrNoNode
	}
	acl := s.tree.ACLOf(n)
	if err := s.auth.Check(acl, wire.PermRead|wire.PermAdmin, auth); err != nil {
		return nil, wire.Code(err)
	}
	out := acl
	if s.auth.Check(acl, wire.PermAdmin, auth) != nil {
		out = make([]jute.ACL, len(acl))
		for i, a := range acl {
			out[i] = a
			if a.ID.Scheme == "digest" {
				user, _, _ := strings.Cut(a.ID.ID, ":")
				out[i].ID.ID = user + ":x"
			}
		}
	}
	return &jute.GetACLResponse{ACL: out, Stat: s.tree.ClientStat(n)}, wire.ErrOK
}

// setWatches re-registers watches after a reconnect, firing at once those
// whose node changed after relativeZxid (DataTree.setWatches).
func (s *Server) setWatches(c *Conn, rel int64, data, exist, child, persistent, recursive []string) {
	for _, p := range data {
		n := s.tree.Node(p)
		switch {
		case n == nil:
			c.queueNotification(wire.EventNodeDeleted, p)
		case n.Stat.Mzxid > rel:
			c.queueNotification(wire.EventNodeDataChanged, p)
		default:
			s.watches.Data.Add(p, c, modeStandard)
		}
	}
	for _, p := range exist {
		if s.tree.Node(p) != nil {
			c.queueNotification(wire.EventNodeCreated, p)
		} else {
			s.watches.Data.Add(p, c, modeStandard)
		}
	}
	for _, p := range child {
		n := s.tree.Node(p)
		switch {
		case n == nil:
			c.queueNotification(wire.EventNodeDeleted, p)
		case n.Stat.Pzxid > rel:
			c.queueNotification(wire.EventNodeChildrenChanged, p)
		default:
			s.watches.Child.Add(p, c, modeStandard)
		}
	}
	for _, p := range persistent {
		s.watches.Data.Add(p, c, modePersist)
		s.watches.Child.Add(p, c, modePersist)
	}
	for _, p := range recursive {
		s.watches.Data.Add(p, c, modeRecursive)
	}
}

// queueNotification appends a notification; c.mu must be held.
func (c *Conn) queueNotification(typ wire.EventType, path string) {
	off := c.beginReply(wire.XidNotification, -1, wire.ErrOK)
	c.enc.Int(int32(typ))
	c.enc.Int(int32(wire.StateSyncConnected))
	c.enc.String(path)
	c.endReply(off)
}

// watchOp is checkWatches / removeWatches for one watcher type. As in
// ZooKeeper 3.8, Data and Children also match the data and child halves
// of persistent watches; types 4 and 5 are 3.9's.
func (s *Server) watchOp(c *Conn, path string, typ wire.WatcherType, remove bool) bool {
	op := s.watches.Data.Has
	opChild := s.watches.Child.Has
	if remove {
		op = s.watches.Data.Remove
		opChild = s.watches.Child.Remove
	}
	found := false
	switch typ {
	case wire.WatcherChildren:
		found = opChild(path, c, modeStandard|modePersist)
	case wire.WatcherData:
		found = op(path, c, modeStandard|modePersist|modeRecursive)
	case wire.WatcherAny:
		a := op(path, c, modeStandard|modePersist|modeRecursive)
		b := opChild(path, c, modeStandard|modePersist)
		found = a || b
	case wire.WatcherPersistent:
		a := op(path, c, modePersist)
		b := opChild(path, c, modePersist)
		found = a || b
	case wire.WatcherPersistentRecursive:
		found = op(path, c, modeRecursive)
	}
	return found
}

// multiRead answers each read op on its own, errors per op. A write op in
// it makes the whole request malformed, as ZooKeeper's "mixing different
// kind of ops" check does.
func (s *Server) multiRead(c *Conn, m *wire.MultiRequest, auth []jute.Id) (jute.Record, wire.Error) {
	for _, op := range m.Ops {
		if op.Type != wire.OpGetData && op.Type != wire.OpGetChildren {
			return nil, wire.ErrMarshallingError
		}
	}
	resp := &wire.MultiResponse{Results: make([]wire.MultiResult, 0, len(m.Ops))}
	for _, op := range m.Ops {
		var rec jute.Record
		err := wire.ErrOK
		switch op.Type {
		case wire.OpGetChildren:
			r := op.Record.(*jute.GetChildrenRequest)
			rec, err = s.getChildren(c, r.Path, r.Watch, auth, false)
		case wire.OpGetData:
			r := op.Record.(*jute.GetDataRequest)
			n := s.tree.Node(r.Path)
			if n == nil {
				err = wire.ErrNoNode
				break
			}
			if err = wire.Code(s.auth.Check(s.tree.ACLOf(n), wire.PermRead, auth)); err != wire.ErrOK {
				break
			}
			if r.Watch {
				s.watches.Data.Add(r.Path, c, modeStandard)
			}
			rec = &jute.GetDataResponse{Data: n.Data(), Stat: s.tree.ClientStat(n)}
		default:
			err = wire.ErrBadArguments
		}
		if err != wire.ErrOK {
			resp.Results = append(resp.Results, wire.MultiResult{Type: wire.OpError, Err: err})
		} else {
			resp.Results = append(resp.Results, wire.MultiResult{Type: op.Type, Record: rec})
		}
	}
	return resp, wire.ErrOK
}
