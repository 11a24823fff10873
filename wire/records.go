package wire

import "zkd/jute"

// RequestRecord returns a fresh record for the body of a client request
// with opcode op. It returns (nil, true) for ops without a body and
// (nil, false) for opcodes the protocol does not define.
func RequestRecord(op OpCode) (jute.Record, bool) {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &jute.CreateRequest{}, true
	case OpCreateTTL:
		return &jute.CreateTTLRequest{}, true
	case OpDelete:
		return &jute.DeleteRequest{}, true
	case OpExists:
		return &jute.ExistsRequest{}, true
	case OpGetData:
		return &jute.GetDataRequest{}, true
	case OpSetData:
		return &jute.SetDataRequest{}, true
	case OpGetACL:
		return &jute.GetACLRequest{}, true
	case OpSetACL:
		return &jute.SetACLRequest{}, true
	case OpGetChildren:
		return &jute.GetChildrenRequest{}, true
	case OpGetChildren2:
		return &jute.GetChildren2Request{}, true
	case OpSync:
		return &jute.SyncRequest{}, true
	case OpCheck:
		return &jute.CheckVersionRequest{}, true
	case OpMulti, OpMultiRead:
		return &MultiRequest{}, true
	case OpReconfig:
		return &jute.ReconfigRequest{}, true
	case OpCheckWatches:
		return &jute.CheckWatchesRequest{}, true
	case OpRemoveWatches:
		return &jute.RemoveWatchesRequest{}, true
	case OpAuth:
		return &jute.AuthPacket{}, true
	case OpSetWatches:
		return &jute.SetWatches{}, true
	case OpSetWatches2:
		return &jute.SetWatches2{}, true
	case OpSASL:
		return &jute.GetSASLRequest{}, true
	case OpGetEphemerals:
		return &jute.GetEphemeralsRequest{}, true
	case OpGetAllChildrenNumber:
		return &jute.GetAllChildrenNumberRequest{}, true
	case OpAddWatch:
		return &jute.AddWatchRequest{}, true
	case OpPing, OpCloseSession, OpWhoAmI:
		return nil, true
	}
	return nil, false
}

// TxnRecord returns a fresh record for the body of a txn of type t, or nil
// for types without a body or unknown types (ok reports which).
func TxnRecord(t OpCode) (rec jute.Record, ok bool) {
	switch t {
	case OpCreateSession:
		return &jute.CreateSessionTxn{}, true
	case OpCloseSession:
		return &jute.CloseSessionTxn{}, true
	case OpCreate, OpCreate2:
		return &jute.CreateTxn{}, true
	case OpCreateTTL:
		return &jute.CreateTTLTxn{}, true
	case OpCreateContainer:
		return &jute.CreateContainerTxn{}, true
	case OpDelete, OpDeleteContainer:
		return &jute.DeleteTxn{}, true
	case OpSetData, OpReconfig:
		return &jute.SetDataTxn{}, true
	case OpSetACL:
		return &jute.SetACLTxn{}, true
	case OpCheck:
		return &jute.CheckVersionTxn{}, true
	case OpError:
		return &jute.ErrorTxn{}, true
	case OpMulti:
		return &jute.MultiTxn{}, true
	}
	return nil, false
}
