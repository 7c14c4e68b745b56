package health

import (
	"fmt"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// First octet of each reply: the APPLICATION tag, constructed (RFC 4120 §5.10).
const (
	tagASRep    = 0x60 | 11
	tagTGSRep   = 0x60 | 13
	tagKRBError = 0x60 | 30
)

// krbErrorReply is a KRB-ERROR as received, kept whole because the AS
// exchange needs its e-data.
type krbErrorReply struct {
	msg messages.KRBError
}

// decodeReply sorts a reply into a KRB-ERROR or the expected message tag.
// It returns (nil, nil) when b starts with wantTag, so the caller unmarshals
// the typed message itself.
func decodeReply(b []byte, wantTag byte, step string) (*krbErrorReply, error) {
	if len(b) == 0 {
		return nil, failure(KindBadReply, step, fmt.Errorf("empty reply"))
	}
	switch b[0] {
	case wantTag:
		return nil, nil
	case tagKRBError:
		var ke messages.KRBError
		if err := ke.Unmarshal(b); err != nil {
			return nil, failure(KindBadReply, step, fmt.Errorf("decode KRB-ERROR: %w", err))
		}
		return &krbErrorReply{msg: ke}, nil
	default:
		return nil, failure(KindBadReply, step, fmt.Errorf("unexpected message tag %#x (want %#x or KRB-ERROR)", b[0], wantTag))
	}
}

// asError turns a KRB-ERROR into the run's failure.
func (k *krbErrorReply) asError(step string) error {
	return failure(KindKRBError, step, &KRBError{
		Code: k.msg.ErrorCode,
		Name: errorcode.Lookup(k.msg.ErrorCode),
		Text: k.msg.EText,
	})
}
