package wire

import (
	"fmt"

	"zkd/jute"
)

// DigestVersion is the tree digest algorithm zkd computes (§7).
const DigestVersion = 2

// Txn is a serialized txn entry: what the txn log stores between its
// length and end byte, and what a Zab PROPOSAL carries.
type Txn struct {
	Header jute.TxnHeader
	Record jute.Record     // nil for txn types without a body and for a closeSession logged without one
	Digest *jute.TxnDigest // nil when the entry carries none
}

// Type is the txn's type.
func (t *Txn) Type() OpCode { return OpCode(t.Header.Type) }

func (t *Txn) Encode(e *jute.Encoder) {
	t.Header.Encode(e)
	if t.Record != nil {
		t.Record.Encode(e)
	}
	if t.Digest != nil {
		t.Digest.Encode(e)
	}
}

// Decode reads a txn entry. It mirrors SerializeUtils.deserializeTxn: the
// digest is optional, a closeSession may have no body, and a create may be
// in the pre-3.3 layout without parentCVersion.
func (t *Txn) Decode(d *jute.Decoder) {
	t.Header.Decode(d)
	if d.Err() != nil {
		return
	}
	body := d.Rest()
	rec, ok := TxnRecord(OpCode(t.Header.Type))
	if !ok {
		d.Fail(fmt.Errorf("unknown txn type %d", t.Header.Type))
		return
	}
	t.Record = rec
	t.Digest = nil
	switch OpCode(t.Header.Type) {
	case OpCloseSession:
		// Logged without a body when zookeeper.closeSessionTxn.enabled is
		// false: no record, so the entry re-encodes as it was.
		if len(body) == 0 {
			t.Record = nil
			return
		}
	case OpCreate, OpCreate2:
		sub := jute.NewDecoder(body)
		rec.Decode(sub)
		if sub.Err() != nil {
			var v0 jute.CreateTxnV0
			sub = jute.NewDecoder(body)
			v0.Decode(sub)
			if sub.Err() != nil {
				d.Fail(sub.Err())
				return
			}
			t.Record = &jute.CreateTxn{Path: v0.Path, Data: v0.Data, ACL: v0.ACL, Ephemeral: v0.Ephemeral, ParentCVersion: -1}
		}
		d.Skip(sub.Offset())
		t.decodeDigest(d)
		return
	}
	rec.Decode(d)
	t.decodeDigest(d)
}

func (t *Txn) decodeDigest(d *jute.Decoder) {
	if d.Err() != nil || d.Remaining() < 12 {
		return
	}
	t.Digest = &jute.TxnDigest{}
	t.Digest.Decode(d)
}

// DecodeTxn reads a txn entry from b.
func DecodeTxn(b []byte) (Txn, error) {
	var t Txn
	d := jute.NewDecoder(b)
	t.Decode(d)
	return t, d.Err()
}
