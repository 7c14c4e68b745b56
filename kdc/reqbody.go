package kdc

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// rawReqBody returns the KDC-REQ-BODY element of an AS-REQ or TGS-REQ exactly
// as it arrived (tag, length and contents). The TGS authenticator checksum is
// computed by the client over these bytes; re-marshalling the decoded body
// would change them whenever the client's encoder and ours differ (field
// order of optional elements, BER lengths, bit string padding), so the
// checksum must be verified over the received bytes, as MIT does with
// fetch_asn1_field.
func rawReqBody(msg []byte) ([]byte, error) {
	var app asn1.RawValue
	if _, err := asn1.Unmarshal(msg, &app); err != nil {
		return nil, fmt.Errorf("kdc-req: %w", err)
	}
	if app.Class != asn1.ClassApplication {
		return nil, errors.New("kdc-req: not an application tag")
	}
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(app.Bytes, &seq); err != nil {
		return nil, fmt.Errorf("kdc-req sequence: %w", err)
	}
	if seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence {
		return nil, errors.New("kdc-req: not a sequence")
	}
	rest := seq.Bytes
	for len(rest) > 0 {
		var field asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &field); err != nil {
			return nil, fmt.Errorf("kdc-req field: %w", err)
		}
		if field.Class == asn1.ClassContextSpecific && field.Tag == 4 {
			return field.Bytes, nil
		}
	}
	return nil, errors.New("kdc-req: no req-body [4]")
}
