package wire

import (
	"errors"
	"strconv"
)

// Error is KeeperException.Code. It is a Go error so tree and pipeline
// code can return it directly; OK (0) is never returned as an error.
type Error int32

const (
	ErrOK                       Error = 0
	ErrSystemError              Error = -1
	ErrRuntimeInconsistency     Error = -2
	ErrDataInconsistency        Error = -3
	ErrConnectionLoss           Error = -4
	ErrMarshallingError         Error = -5
	ErrUnimplemented            Error = -6
	ErrOperationTimeout         Error = -7
	ErrBadArguments             Error = -8
	ErrUnknownSession           Error = -12
	ErrNewConfigNoQuorum        Error = -13
	ErrReconfigInProgress       Error = -14
	ErrAPIError                 Error = -100
	ErrNoNode                   Error = -101
	ErrNoAuth                   Error = -102
	ErrBadVersion               Error = -103
	ErrNoChildrenForEphemerals  Error = -108
	ErrNodeExists               Error = -110
	ErrNotEmpty                 Error = -111
	ErrSessionExpired           Error = -112
	ErrInvalidCallback          Error = -113
	ErrInvalidACL               Error = -114
	ErrAuthFailed               Error = -115
	ErrSessionMoved             Error = -118
	ErrNotReadOnly              Error = -119
	ErrEphemeralOnLocalSession  Error = -120
	ErrNoWatcher                Error = -121
	ErrRequestTimeout           Error = -122
	ErrReconfigDisabled         Error = -123
	ErrSessionClosedRequireSASL Error = -124
	ErrQuotaExceeded            Error = -125
	ErrThrottledOp              Error = -127
)

var errNames = map[Error]string{
	ErrOK: "OK", ErrSystemError: "SYSTEMERROR", ErrRuntimeInconsistency: "RUNTIMEINCONSISTENCY",
	ErrDataInconsistency: "DATAINCONSISTENCY", ErrConnectionLoss: "CONNECTIONLOSS",
	ErrMarshallingError: "MARSHALLINGERROR", ErrUnimplemented: "UNIMPLEMENTED",
	ErrOperationTimeout: "OPERATIONTIMEOUT", ErrBadArguments: "BADARGUMENTS",
	ErrUnknownSession: "UNKNOWNSESSION", ErrNewConfigNoQuorum: "NEWCONFIGNOQUORUM",
	ErrReconfigInProgress: "RECONFIGINPROGRESS", ErrAPIError: "APIERROR",
	ErrNoNode: "NONODE", ErrNoAuth: "NOAUTH", ErrBadVersion: "BADVERSION",
	ErrNoChildrenForEphemerals: "NOCHILDRENFOREPHEMERALS", ErrNodeExists: "NODEEXISTS",
	ErrNotEmpty: "NOTEMPTY", ErrSessionExpired: "SESSIONEXPIRED",
	ErrInvalidCallback: "INVALIDCALLBACK", ErrInvalidACL: "INVALIDACL",
	ErrAuthFailed: "AUTHFAILED", ErrSessionMoved: "SESSIONMOVED",
	ErrNotReadOnly: "NOTREADONLY", ErrEphemeralOnLocalSession: "EPHEMERALONLOCALSESSION",
	ErrNoWatcher: "NOWATCHER", ErrRequestTimeout: "REQUESTTIMEOUT",
	ErrReconfigDisabled: "RECONFIGDISABLED", ErrSessionClosedRequireSASL: "SESSIONCLOSEDREQUIRESASLAUTH",
	ErrQuotaExceeded: "QUOTAEXCEEDED", ErrThrottledOp: "THROTTLEDOP",
}

// Name is the KeeperException.Code name, e.g. "NONODE".
func (e Error) Name() string {
	if s, ok := errNames[e]; ok {
		return s
	}
	return "Error(" + strconv.Itoa(int(e)) + ")"
}

func (e Error) Error() string { return "zookeeper: " + e.Name() }

// Code maps an error to the code sent to clients: an Error, or an error
// wrapping one (errors.As), is itself, nil is OK and anything else is a
// system error.
func Code(err error) Error {
	if err == nil {
		return ErrOK
	}
	if e, ok := err.(Error); ok {
		return e
	}
	var e Error
	if errors.As(err, &e) {
		return e
	}
	return ErrSystemError
}
