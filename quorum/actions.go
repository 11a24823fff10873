package quorum

import "zkd/jute"

// LearnerID names one learner connection on the leader.
type LearnerID uint64

// Action is work a Zab state machine hands its driver. Drivers perform
// actions in the order given: storage actions before the sends after them.
type Action interface{ zabAction() }

// SendPacket sends a packet to a learner (leader) or to the leader
// (learner, To is 0).
type SendPacket struct {
	To LearnerID
	P  jute.QuorumPacket
}

// SendSnapshot sends SNAP(Zxid), then the database stream and the
// "BenWasHere" signature; the tree must hold every txn up to Zxid.
type SendSnapshot struct {
	To   LearnerID
	Zxid int64
}

// SendHistory sends a PROPOSAL and COMMIT pair for each logged txn with
// After < zxid <= Through, read from the txn log.
type SendHistory struct {
	To      LearnerID
	After   int64
	Through int64
}

// CloseLearner drops a learner connection.
type CloseLearner struct {
	ID     LearnerID
	Reason string
}

// PersistAcceptedEpoch writes the acceptedEpoch file.
type PersistAcceptedEpoch struct{ Epoch int64 }

// PersistCurrentEpoch writes the currentEpoch file.
type PersistCurrentEpoch struct{ Epoch int64 }

// Established: the leader has a quorum synced and serves clients; new
// proposals start after Zxid (its epoch with counter 0).
type Established struct{ Zxid int64 }

// Commit: the proposal with this zxid is committed and can be applied.
type Commit struct {
	Zxid int64
	Data []byte // the txn entry, for learners that apply what they logged
}

// ForwardedRequest is a client request a learner forwarded.
type ForwardedRequest struct {
	From LearnerID
	Data RequestData
	Auth []jute.Id
}

// TouchSessions renews sessions a learner reported in its PING reply.
type TouchSessions struct{ Touches []Touch }

// Revalidate asks whether a session moving to a learner is valid.
type Revalidate struct {
	From      LearnerID
	SessionID int64
	Timeout   int32
}

// Failed ends the role: the server goes back to leader election.
type Failed struct{ Reason string }

func (SendPacket) zabAction()           {}
func (SendSnapshot) zabAction()         {}
func (SendHistory) zabAction()          {}
func (CloseLearner) zabAction()         {}
func (PersistAcceptedEpoch) zabAction() {}
func (PersistCurrentEpoch) zabAction()  {}
func (Established) zabAction()          {}
func (Commit) zabAction()               {}
func (ForwardedRequest) zabAction()     {}
func (TouchSessions) zabAction()        {}
func (Revalidate) zabAction()           {}
func (Failed) zabAction()               {}

// Learner-side actions.

// Truncate cuts the txn log after Zxid and reloads the database from disk
// (the TRUNC sync).
type Truncate struct{ Zxid int64 }

// InstallSnapshot makes the database the driver read after a SNAP the
// server's database, with last processed zxid Zxid.
type InstallSnapshot struct{ Zxid int64 }

// ApplyTxn applies a committed txn to the database without logging it
// (during a SNAP or TRUNC sync, before the snapshot that makes it
// durable).
type ApplyTxn struct {
	Zxid int64
	Data []byte
}

// LogTxn appends a proposal to the txn log; the driver calls Logged once
// it is durable.
type LogTxn struct {
	Zxid int64
	Data []byte
}

// FlushLog makes everything logged durable before the next action.
type FlushLog struct{}

// TakeSnapshot writes a snapshot of the database before the next action.
// After a SNAP sync (Replace) the txn log before it may hold txns the
// leader's history does not: the driver then drops the old log files, so
// neither a restart nor a DIFF served from this log can bring them back.
type TakeSnapshot struct{ Replace bool }

// Serve: the learner is up to date and serves clients.
type Serve struct{ Epoch int64 }

// ReplyPing answers the leader's PING with the session touch table.
type ReplyPing struct{ Zxid int64 }

// SyncDone completes the oldest pending sync of a local client.
type SyncDone struct{}

// RevalidateResult answers a session revalidation.
type RevalidateResult struct {
	SessionID int64
	Valid     bool
}

func (Truncate) zabAction()         {}
func (InstallSnapshot) zabAction()  {}
func (ApplyTxn) zabAction()         {}
func (LogTxn) zabAction()           {}
func (FlushLog) zabAction()         {}
func (TakeSnapshot) zabAction()     {}
func (Serve) zabAction()            {}
func (ReplyPing) zabAction()        {}
func (SyncDone) zabAction()         {}
func (RevalidateResult) zabAction() {}
