package kdc

import (
	"errors"
	"fmt"

	"github.com/kdcha/kdcha/kdc/internal/der"
)

// rawReqBody returns the KDC-REQ-BODY element of an AS-REQ or TGS-REQ exactly
// as it arrived (tag, length and contents). The TGS authenticator checksum is
// computed by the client over these bytes; re-marshalling the decoded body
// would change them whenever the client's encoder and ours differ (field
// order of optional elements, BER lengths, bit string padding), so the
// checksum must be verified over the received bytes, as MIT does with
// fetch_asn1_field.
//
// It reads only the three headers on the way (APPLICATION, SEQUENCE, the
// fields), so the request is decoded once, by gokrb5, not twice.
func rawReqBody(msg []byte) ([]byte, error) {
	app, _, err := der.Read(msg)
	if err != nil {
		return nil, fmt.Errorf("kdc-req: %w", err)
	}
	if app.Class != der.ClassApplication {
		return nil, errors.New("kdc-req: not an application tag")
	}
	seq, _, err := der.Read(app.Content)
	if err != nil {
		return nil, fmt.Errorf("kdc-req sequence: %w", err)
	}
	if seq.Class != der.ClassUniversal || seq.Tag != 16 {
		return nil, errors.New("kdc-req: not a sequence")
	}
	rest := seq.Content
	for len(rest) > 0 {
		var field der.Element
		if field, rest, err = der.Read(rest); err != nil {
			return nil, fmt.Errorf("kdc-req field: %w", err)
		}
		if field.Class == der.ClassContext && field.Tag == 4 {
			return field.Content, nil
		}
	}
	return nil, errors.New("kdc-req: no req-body [4]")
}
