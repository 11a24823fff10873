package wire_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

// keeperCodes is the spec table §3.11.
var keeperCodes = []struct {
	code int32
	name string
	err  wire.Error
}{
	{0, "OK", wire.ErrOK},
	{-1, "SYSTEMERROR", wire.ErrSystemError},
	{-2, "RUNTIMEINCONSISTENCY", wire.ErrRuntimeInconsistency},
	{-3, "DATAINCONSISTENCY", wire.ErrDataInconsistency},
	{-4, "CONNECTIONLOSS", wire.ErrConnectionLoss},
	{-5, "MARSHALLINGERROR", wire.ErrMarshallingError},
	{-6, "UNIMPLEMENTED", wire.ErrUnimplemented},
	{-7, "OPERATIONTIMEOUT", wire.ErrOperationTimeout},
	{-8, "BADARGUMENTS", wire.ErrBadArguments},
	{-12, "UNKNOWNSESSION", wire.ErrUnknownSession},
	{-13, "NEWCONFIGNOQUORUM", wire.ErrNewConfigNoQuorum},
	{-14, "RECONFIGINPROGRESS", wire.ErrReconfigInProgress},
	{-100, "APIERROR", wire.ErrAPIError},
	{-101, "NONODE", wire.ErrNoNode},
	{-102, "NOAUTH", wire.ErrNoAuth},
	{-103, "BADVERSION", wire.ErrBadVersion},
	{-108, "NOCHILDRENFOREPHEMERALS", wire.ErrNoChildrenForEphemerals},
	{-110, "NODEEXISTS", wire.ErrNodeExists},
	{-111, "NOTEMPTY", wire.ErrNotEmpty},
	{-112, "SESSIONEXPIRED", wire.ErrSessionExpired},
	{-113, "INVALIDCALLBACK", wire.ErrInvalidCallback},
	{-114, "INVALIDACL", wire.ErrInvalidACL},
	{-115, "AUTHFAILED", wire.ErrAuthFailed},
	{-118, "SESSIONMOVED", wire.ErrSessionMoved},
	{-119, "NOTREADONLY", wire.ErrNotReadOnly},
	{-120, "EPHEMERALONLOCALSESSION", wire.ErrEphemeralOnLocalSession},
	{-121, "NOWATCHER", wire.ErrNoWatcher},
	{-122, "REQUESTTIMEOUT", wire.ErrRequestTimeout},
	{-123, "RECONFIGDISABLED", wire.ErrReconfigDisabled},
	{-124, "SESSIONCLOSEDREQUIRESASLAUTH", wire.ErrSessionClosedRequireSASL},
	{-125, "QUOTAEXCEEDED", wire.ErrQuotaExceeded},
	{-127, "THROTTLEDOP", wire.ErrThrottledOp},
}

func TestErrorCodes(t *testing.T) {
	for _, tc := range keeperCodes {
		t.Run(tc.name, func(t *testing.T) {
			if int32(tc.err) != tc.code {
				t.Fatalf("%s = %d, want %d", tc.name, int32(tc.err), tc.code)
			}
			if got := wire.Error(tc.code).Name(); got != tc.name {
				t.Fatalf("Name() = %q", got)
			}
			if got := tc.err.Error(); got != "zookeeper: "+tc.name {
				t.Fatalf("Error() = %q", got)
			}
			if tc.code != 0 {
				if got := wire.Code(tc.err); got != tc.err {
					t.Fatalf("Code(%v) = %v", tc.err, got)
				}
			}
		})
	}
	for _, unknown := range []int32{-126, -9, 1, -128} {
		if got := wire.Error(unknown).Name(); got != fmt.Sprintf("Error(%d)", unknown) {
			t.Errorf("unknown %d: %q", unknown, got)
		}
	}
}

func TestCode(t *testing.T) {
	var typedNil wire.Error
	tests := []struct {
		name string
		err  error
		want wire.Error
	}{
		{"nil", nil, wire.ErrOK},
		{"Error", wire.ErrNoNode, wire.ErrNoNode},
		{"zero Error value", typedNil, wire.ErrOK},
		{"other error", errors.New("disk on fire"), wire.ErrSystemError},
	}
	for _, tc := range tests {
		if got := wire.Code(tc.err); got != tc.want {
			t.Errorf("%s: Code = %v, want %v", tc.name, got, tc.want)
		}
	}
	// wire.Error values work with errors.Is / errors.As.
	wrapped := fmt.Errorf("create /a: %w", wire.ErrNodeExists)
	if !errors.Is(wrapped, wire.ErrNodeExists) {
		t.Fatal("errors.Is")
	}
	var e wire.Error
	if !errors.As(wrapped, &e) || e != wire.ErrNodeExists {
		t.Fatal("errors.As")
	}
}

// TestCodeUnwraps: a wrapped Error keeps its code.
func TestCodeUnwraps(t *testing.T) {
	if got := wire.Code(fmt.Errorf("ctx: %w", wire.ErrNoNode)); got != wire.ErrNoNode {
		t.Fatalf("Code(wrapped NONODE) = %v", got)
	}
	if got := wire.Code(fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", wire.ErrBadVersion))); got != wire.ErrBadVersion {
		t.Fatalf("Code(twice wrapped BADVERSION) = %v", got)
	}
	if got := wire.Code(errors.Join(errors.New("io"), wire.ErrNodeExists)); got != wire.ErrNodeExists {
		t.Fatalf("Code(joined NODEEXISTS) = %v", got)
	}
	if got := wire.Code(fmt.Errorf("ctx: %w", errors.New("disk"))); got != wire.ErrSystemError {
		t.Fatalf("Code(other error) = %v", got)
	}
}

// opTable is the spec's opcode table (§3.5): code, name, request body,
// whether it writes (goes through the txn pipeline, Request.isQuorum) and
// the txn record it logs.
var opTable = []struct {
	op      wire.OpCode
	code    int32
	name    string
	req     jute.Record // nil: no body
	reqOK   bool        // RequestRecord knows it as a client request
	write   bool
	txn     jute.Record
	txnKnow bool
}{
	{wire.OpNotification, 0, "notification", nil, false, false, nil, false},
	{wire.OpCreate, 1, "create", &jute.CreateRequest{}, true, true, &jute.CreateTxn{}, true},
	{wire.OpDelete, 2, "delete", &jute.DeleteRequest{}, true, true, &jute.DeleteTxn{}, true},
	{wire.OpExists, 3, "exists", &jute.ExistsRequest{}, true, false, nil, false},
	{wire.OpGetData, 4, "getData", &jute.GetDataRequest{}, true, false, nil, false},
	{wire.OpSetData, 5, "setData", &jute.SetDataRequest{}, true, true, &jute.SetDataTxn{}, true},
	{wire.OpGetACL, 6, "getACL", &jute.GetACLRequest{}, true, false, nil, false},
	{wire.OpSetACL, 7, "setACL", &jute.SetACLRequest{}, true, true, &jute.SetACLTxn{}, true},
	{wire.OpGetChildren, 8, "getChildren", &jute.GetChildrenRequest{}, true, false, nil, false},
	{wire.OpSync, 9, "sync", &jute.SyncRequest{}, true, false, nil, false},
	{wire.OpPing, 11, "ping", nil, true, false, nil, false},
	{wire.OpGetChildren2, 12, "getChildren2", &jute.GetChildren2Request{}, true, false, nil, false},
	{wire.OpCheck, 13, "check", &jute.CheckVersionRequest{}, true, true, &jute.CheckVersionTxn{}, true},
	{wire.OpMulti, 14, "multi", &wire.MultiRequest{}, true, true, &jute.MultiTxn{}, true},
	{wire.OpCreate2, 15, "create2", &jute.CreateRequest{}, true, true, &jute.CreateTxn{}, true},
	{wire.OpReconfig, 16, "reconfig", &jute.ReconfigRequest{}, true, true, &jute.SetDataTxn{}, true},
	{wire.OpCheckWatches, 17, "checkWatches", &jute.CheckWatchesRequest{}, true, false, nil, false},
	{wire.OpRemoveWatches, 18, "removeWatches", &jute.RemoveWatchesRequest{}, true, false, nil, false},
	{wire.OpCreateContainer, 19, "createContainer", &jute.CreateRequest{}, true, true, &jute.CreateContainerTxn{}, true},
	{wire.OpDeleteContainer, 20, "deleteContainer", nil, false, true, &jute.DeleteTxn{}, true},
	{wire.OpCreateTTL, 21, "createTTL", &jute.CreateTTLRequest{}, true, true, &jute.CreateTTLTxn{}, true},
	{wire.OpMultiRead, 22, "multiRead", &wire.MultiRequest{}, true, false, nil, false},
	{wire.OpAuth, 100, "auth", &jute.AuthPacket{}, true, false, nil, false},
	{wire.OpSetWatches, 101, "setWatches", &jute.SetWatches{}, true, false, nil, false},
	{wire.OpSASL, 102, "sasl", &jute.GetSASLRequest{}, true, false, nil, false},
	{wire.OpGetEphemerals, 103, "getEphemerals", &jute.GetEphemeralsRequest{}, true, false, nil, false},
	{wire.OpGetAllChildrenNumber, 104, "getAllChildrenNumber", &jute.GetAllChildrenNumberRequest{}, true, false, nil, false},
	{wire.OpSetWatches2, 105, "setWatches2", &jute.SetWatches2{}, true, false, nil, false},
	{wire.OpAddWatch, 106, "addWatch", &jute.AddWatchRequest{}, true, false, nil, false},
	{wire.OpWhoAmI, 107, "whoAmI", nil, true, false, nil, false},
	{wire.OpCreateSession, -10, "createSession", nil, false, true, &jute.CreateSessionTxn{}, true},
	{wire.OpCloseSession, -11, "closeSession", nil, true, true, &jute.CloseSessionTxn{}, true},
	{wire.OpError, -1, "error", nil, false, false, &jute.ErrorTxn{}, true},
}

func TestOpCodes(t *testing.T) {
	for _, tc := range opTable {
		t.Run(tc.name, func(t *testing.T) {
			if int32(tc.op) != tc.code {
				t.Fatalf("code %d, want %d", int32(tc.op), tc.code)
			}
			if tc.op.String() != tc.name {
				t.Fatalf("String() = %q", tc.op.String())
			}
			if tc.op.IsWrite() != tc.write {
				t.Fatalf("IsWrite() = %v", tc.op.IsWrite())
			}
			rec, ok := wire.RequestRecord(tc.op)
			if ok != tc.reqOK {
				t.Fatalf("RequestRecord ok = %v", ok)
			}
			if reflect.TypeOf(rec) != reflect.TypeOf(tc.req) {
				t.Fatalf("RequestRecord = %T, want %T", rec, tc.req)
			}
			if rec2, _ := wire.RequestRecord(tc.op); rec != nil && rec == rec2 {
				t.Fatal("RequestRecord must return a fresh record")
			}
			txn, ok := wire.TxnRecord(tc.op)
			if ok != tc.txnKnow || reflect.TypeOf(txn) != reflect.TypeOf(tc.txn) {
				t.Fatalf("TxnRecord = %T, %v; want %T", txn, ok, tc.txn)
			}
		})
	}
	for _, unknown := range []wire.OpCode{10, 23, 99, 108, -2, -12} {
		if unknown.IsWrite() {
			t.Errorf("%d IsWrite", unknown)
		}
		if _, ok := wire.RequestRecord(unknown); ok {
			t.Errorf("RequestRecord(%d) ok", unknown)
		}
		if _, ok := wire.TxnRecord(unknown); ok {
			t.Errorf("TxnRecord(%d) ok", unknown)
		}
		if got := unknown.String(); got != fmt.Sprintf("unknown(%d)", unknown) {
			t.Errorf("String %q", got)
		}
	}
}

func TestProtocolConstants(t *testing.T) {
	ints := []struct {
		name      string
		got, want int32
	}{
		{"XidNotification", wire.XidNotification, -1},
		{"XidPing", wire.XidPing, -2},
		{"XidAuth", wire.XidAuth, -4},
		{"XidSetWatches", wire.XidSetWatches, -8},
		{"EventNone", int32(wire.EventNone), -1},
		{"EventNodeCreated", int32(wire.EventNodeCreated), 1},
		{"EventNodeDeleted", int32(wire.EventNodeDeleted), 2},
		{"EventNodeDataChanged", int32(wire.EventNodeDataChanged), 3},
		{"EventNodeChildrenChanged", int32(wire.EventNodeChildrenChanged), 4},
		{"EventDataWatchRemoved", int32(wire.EventDataWatchRemoved), 5},
		{"EventChildWatchRemoved", int32(wire.EventChildWatchRemoved), 6},
		{"EventPersistentWatchRemoved", int32(wire.EventPersistentWatchRemoved), 7},
		{"StateUnknown", int32(wire.StateUnknown), -1},
		{"StateDisconnected", int32(wire.StateDisconnected), 0},
		{"StateNoSyncConnected", int32(wire.StateNoSyncConnected), 1},
		{"StateSyncConnected", int32(wire.StateSyncConnected), 3},
		{"StateAuthFailed", int32(wire.StateAuthFailed), 4},
		{"StateConnectedReadOnly", int32(wire.StateConnectedReadOnly), 5},
		{"StateSaslAuthenticated", int32(wire.StateSaslAuthenticated), 6},
		{"StateExpired", int32(wire.StateExpired), -112},
		{"StateClosed", int32(wire.StateClosed), 7},
		{"WatcherChildren", int32(wire.WatcherChildren), 1},
		{"WatcherData", int32(wire.WatcherData), 2},
		{"WatcherAny", int32(wire.WatcherAny), 3},
		{"WatcherPersistent", int32(wire.WatcherPersistent), 4},
		{"WatcherPersistentRecursive", int32(wire.WatcherPersistentRecursive), 5},
		{"AddWatchPersistent", wire.AddWatchPersistent, 0},
		{"AddWatchPersistentRecursive", wire.AddWatchPersistentRecursive, 1},
		{"PermRead", wire.PermRead, 1},
		{"PermWrite", wire.PermWrite, 2},
		{"PermCreate", wire.PermCreate, 4},
		{"PermDelete", wire.PermDelete, 8},
		{"PermAdmin", wire.PermAdmin, 16},
		{"PermAll", wire.PermAll, 31},
		{"DigestVersion", wire.DigestVersion, 2},
	}
	for _, c := range ints {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if wire.PermRead|wire.PermWrite|wire.PermCreate|wire.PermDelete|wire.PermAdmin != wire.PermAll {
		t.Error("PermAll is not the union of the perms")
	}
	events := map[wire.EventType]string{
		wire.EventNone: "None", wire.EventNodeCreated: "NodeCreated", wire.EventNodeDeleted: "NodeDeleted",
		wire.EventNodeDataChanged: "NodeDataChanged", wire.EventNodeChildrenChanged: "NodeChildrenChanged",
		wire.EventDataWatchRemoved: "DataWatchRemoved", wire.EventChildWatchRemoved: "ChildWatchRemoved",
		wire.EventPersistentWatchRemoved: "PersistentWatchRemoved", 0: "EventType(0)", 8: "EventType(8)",
	}
	for ev, name := range events {
		if ev.String() != name {
			t.Errorf("EventType(%d).String() = %q, want %q", ev, ev.String(), name)
		}
	}
}

func TestCreateMode(t *testing.T) {
	tests := []struct {
		mode                                        wire.CreateMode
		valid, ephemeral, sequential, container, tt bool
	}{
		{wire.ModePersistent, true, false, false, false, false},
		{wire.ModeEphemeral, true, true, false, false, false},
		{wire.ModePersistentSequential, true, false, true, false, false},
		{wire.ModeEphemeralSequential, true, true, true, false, false},
		{wire.ModeContainer, true, false, false, true, false},
		{wire.ModePersistentWithTTL, true, false, false, false, true},
		{wire.ModePersistentSequentialWithTTL, true, false, true, false, true},
		{-1, false, false, false, false, false},
		{7, false, false, false, false, false},
	}
	for i, tc := range tests {
		if int32(tc.mode) != []int32{0, 1, 2, 3, 4, 5, 6, -1, 7}[i] {
			t.Fatalf("mode %d has value %d", i, tc.mode)
		}
		m := tc.mode
		if m.Valid() != tc.valid || m.Ephemeral() != tc.ephemeral || m.Sequential() != tc.sequential ||
			m.Container() != tc.container || m.TTL() != tc.tt {
			t.Errorf("mode %d: valid %v ephemeral %v sequential %v container %v ttl %v", m,
				m.Valid(), m.Ephemeral(), m.Sequential(), m.Container(), m.TTL())
		}
	}
}
