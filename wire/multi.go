package wire

import (
	"fmt"

	"zkd/jute"
)

// MultiOp is one op of a MultiOperationRecord.
type MultiOp struct {
	Type   OpCode
	Record jute.Record
}

// MultiRequest is MultiOperationRecord: the ops of a multi (14) or
// multiRead (22), each behind a MultiHeader, closed by {-1, true, -1}.
type MultiRequest struct {
	Ops []MultiOp
}

func (r *MultiRequest) Encode(e *jute.Encoder) {
	for _, op := range r.Ops {
		h := jute.MultiHeader{Type: int32(op.Type), Done: false, Err: -1}
		h.Encode(e)
		op.Record.Encode(e)
	}
	end := jute.MultiHeader{Type: -1, Done: true, Err: -1}
	end.Encode(e)
}

func (r *MultiRequest) Decode(d *jute.Decoder) {
	r.Ops = r.Ops[:0]
	for d.Err() == nil {
		var h jute.MultiHeader
		h.Decode(d)
		if d.Err() != nil || h.Done {
			return
		}
		rec := multiOpRecord(OpCode(h.Type))
		if rec == nil {
			d.Fail(fmt.Errorf("invalid type of op %d in multi", h.Type))
			return
		}
		rec.Decode(d)
		r.Ops = append(r.Ops, MultiOp{Type: OpCode(h.Type), Record: rec})
	}
}

func multiOpRecord(op OpCode) jute.Record {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &jute.CreateRequest{}
	case OpCreateTTL:
		return &jute.CreateTTLRequest{}
	case OpDelete:
		return &jute.DeleteRequest{}
	case OpSetData:
		return &jute.SetDataRequest{}
	case OpCheck:
		return &jute.CheckVersionRequest{}
	case OpGetChildren:
		return &jute.GetChildrenRequest{}
	case OpGetData:
		return &jute.GetDataRequest{}
	}
	return nil
}

// MultiResult is one result of a MultiResponse. Type is OpError (-1) for
// an ErrorResult, whose Err is also written as its body.
type MultiResult struct {
	Type   OpCode
	Err    Error
	Record jute.Record // nil for delete, check and errors
}

// MultiResponse answers multi and multiRead.
type MultiResponse struct {
	Results []MultiResult
}

func (r *MultiResponse) Encode(e *jute.Encoder) {
	for _, res := range r.Results {
		h := jute.MultiHeader{Type: int32(res.Type), Done: false, Err: int32(res.Err)}
		if res.Type != OpError {
			h.Err = 0
		}
		h.Encode(e)
		switch {
		case res.Type == OpError:
			e.Int(int32(res.Err))
		case res.Record != nil:
			res.Record.Encode(e)
		}
	}
	end := jute.MultiHeader{Type: -1, Done: true, Err: -1}
	end.Encode(e)
}

func (r *MultiResponse) Decode(d *jute.Decoder) {
	r.Results = r.Results[:0]
	for d.Err() == nil {
		var h jute.MultiHeader
		h.Decode(d)
		if d.Err() != nil || h.Done {
			return
		}
		res := MultiResult{Type: OpCode(h.Type)}
		switch res.Type {
		case OpCreate:
			res.Record = &jute.CreateResponse{}
		case OpCreate2, OpCreateContainer, OpCreateTTL:
			res.Record = &jute.Create2Response{}
		case OpDelete, OpCheck:
		case OpSetData:
			res.Record = &jute.SetDataResponse{}
		case OpGetChildren:
			res.Record = &jute.GetChildrenResponse{}
		case OpGetData:
			res.Record = &jute.GetDataResponse{}
		case OpError:
			res.Err = Error(d.Int())
		default:
			d.Fail(fmt.Errorf("invalid type of result %d in multi", h.Type))
			return
		}
		if res.Record != nil {
			res.Record.Decode(d)
		}
		r.Results = append(r.Results, res)
	}
}
