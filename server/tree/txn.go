package tree

import (
	"zkd/jute"
	"zkd/wire"
)

// Result is the outcome of applying a txn (ProcessTxnResult).
type Result struct {
	ClientID int64
	Cxid     int32
	Zxid     int64
	Type     wire.OpCode
	Err      wire.Error
	Path     string
	Stat     jute.Stat
	HasStat  bool
	Multi    []Result
}

// ProcessTxn applies one txn, in zxid order, and returns what the client
// reply needs. Errors are reported in the result, never as a failure of
// the tree: a txn that cannot apply (only seen while replaying the fuzzy
// part of a snapshot) leaves the tree as it was for that op.
func (t *DataTree) ProcessTxn(txn *wire.Txn) Result {
	r := t.processTxn(&txn.Header, txn.Record, false)
	return r
}

func (t *DataTree) processTxn(h *jute.TxnHeader, rec jute.Record, sub bool) Result {
	r := Result{ClientID: h.ClientID, Cxid: h.Cxid, Zxid: h.Zxid, Type: wire.OpCode(h.Type)}
	var err error
	switch wire.OpCode(h.Type) {
	case wire.OpCreate, wire.OpCreate2:
		c := rec.(*jute.CreateTxn)
		r.Path = c.Path
		var owner int64
		if c.Ephemeral {
			owner = h.ClientID
		}
		err = t.create(&r, c.Path, c.Data, c.ACL, owner, c.ParentCVersion, h)
	case wire.OpCreateTTL:
		c := rec.(*jute.CreateTTLTxn)
		r.Path = c.Path
		err = t.create(&r, c.Path, c.Data, c.ACL, t.TTLOwner(c.TTL), c.ParentCVersion, h)
	case wire.OpCreateContainer:
		c := rec.(*jute.CreateContainerTxn)
		r.Path = c.Path
		err = t.create(&r, c.Path, c.Data, c.ACL, ContainerOwner, c.ParentCVersion, h)
	case wire.OpDelete, wire.OpDeleteContainer:
		d := rec.(*jute.DeleteTxn)
		r.Path = d.Path
		err = t.DeleteNode(d.Path, h.Zxid)
	case wire.OpSetData, wire.OpReconfig:
		s := rec.(*jute.SetDataTxn)
		r.Path = s.Path
		var n *Node
		if n, err = t.SetData(s.Path, s.Data, s.Version, h.Zxid, h.Time); err == nil {
			t.CopyStat(n, &r.Stat)
			r.HasStat = true
		}
	case wire.OpSetACL:
		s := rec.(*jute.SetACLTxn)
		r.Path = s.Path
		var n *Node
		if n, err = t.SetACL(s.Path, s.ACL, s.Version); err == nil {
			t.CopyStat(n, &r.Stat)
			r.HasStat = true
		}
	case wire.OpCreateSession:
		if c, ok := rec.(*jute.CreateSessionTxn); ok {
			t.Sessions[h.ClientID] = c.TimeOut
		}
	case wire.OpCloseSession:
		var paths []string
		if c, ok := rec.(*jute.CloseSessionTxn); ok && c != nil {
			paths = c.Paths2Delete
		}
		t.KillSession(h.ClientID, h.Zxid, paths)
		delete(t.Sessions, h.ClientID)
	case wire.OpError:
		r.Err = wire.Error(rec.(*jute.ErrorTxn).Err)
	case wire.OpCheck:
		r.Path = rec.(*jute.CheckVersionTxn).Path
	case wire.OpMulti:
		err = t.processMulti(&r, h, rec.(*jute.MultiTxn))
	}
	if err != nil {
		r.Err = wire.Code(err)
	}
	// A create replayed over a node the fuzzy snapshot already holds still
	// moves the parent's cversion and pzxid.
	if wire.OpCode(h.Type) == wire.OpCreate && r.Err == wire.ErrNodeExists {
		c := rec.(*jute.CreateTxn)
		if e := t.SetCversionPzxid(Parent(c.Path), c.ParentCVersion, h.Zxid); e != nil {
			r.Err = wire.Code(e)
		}
	}
	// lastProcessedZxid moves only once a whole multi is applied, so a
	// snapshot never claims half of one.
	if !sub && r.Zxid > t.LastProcessedZxid {
		t.LastProcessedZxid = r.Zxid
	}
	return r
}

func (t *DataTree) create(r *Result, path string, data []byte, acl []jute.ACL, owner int64, pcv int32, h *jute.TxnHeader) error {
	n, err := t.CreateNode(path, data, acl, owner, pcv, h.Zxid, h.Time)
	if err != nil {
		return err
	}
	t.CopyStat(n, &r.Stat)
	r.HasStat = true
	return nil
}

func (t *DataTree) processMulti(r *Result, h *jute.TxnHeader, m *jute.MultiTxn) error {
	failed := false
	for _, s := range m.Txns {
		if wire.OpCode(s.Type) == wire.OpError {
			failed = true
			break
		}
	}
	postFailed := false
	r.Multi = make([]Result, 0, len(m.Txns))
	for _, s := range m.Txns {
		typ := wire.OpCode(s.Type)
		rec, ok := TxnRecordForMulti(typ)
		if !ok {
			return wire.ErrMarshallingError
		}
		if err := jute.Unmarshal(s.Data, rec); err != nil {
			return wire.ErrMarshallingError
		}
		if typ == wire.OpError {
			postFailed = true
		}
		if failed && typ != wire.OpError {
			code := wire.ErrOK
			if postFailed {
				code = wire.ErrRuntimeInconsistency
			}
			typ = wire.OpError
			rec = &jute.ErrorTxn{Err: int32(code)}
		}
		sh := jute.TxnHeader{ClientID: h.ClientID, Cxid: h.Cxid, Zxid: h.Zxid, Time: h.Time, Type: int32(typ)}
		sr := t.processTxn(&sh, rec, true)
		r.Multi = append(r.Multi, sr)
		if sr.Err != wire.ErrOK && r.Err == wire.ErrOK {
			r.Err = sr.Err
		}
	}
	return nil
}

// TxnRecordForMulti returns a fresh record for a sub-txn of a MultiTxn.
func TxnRecordForMulti(t wire.OpCode) (jute.Record, bool) {
	switch t {
	case wire.OpCreate, wire.OpCreate2, wire.OpCreateTTL, wire.OpCreateContainer,
		wire.OpDelete, wire.OpDeleteContainer, wire.OpSetData, wire.OpError, wire.OpCheck:
		return wire.TxnRecord(t)
	}
	return nil, false
}
