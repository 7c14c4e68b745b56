package mitdump

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Tagged-data types this package interprets (KRB5_TL_* in MIT's kdb.h).
const (
	// TLLastPwdChange is KRB5_TL_LAST_PWD_CHANGE: the time alone
	// (tldata.go).
	TLLastPwdChange = 0x0001
	// TLModPrinc is KRB5_TL_MOD_PRINC: the time, then the name of the
	// principal that made the change, NUL-terminated (tldata.go).
	TLModPrinc = 0x0002
	// TLKADMData holds kadmind's per-principal data (osa_princ_ent_rec,
	// XDR): the policy name and the password history.
	TLKADMData = 0x0003
	// TLMKVNO is the master key version a principal's keys are sealed
	// with (2 bytes, little-endian).
	TLMKVNO = 0x0008
	// TLActKVNO lists the activation times of master key versions (K/M).
	TLActKVNO = 0x0009
)

// osaPrincVersion1 is OSA_ADB_PRINC_VERSION_1; kadm5Policy is the
// KADM5_POLICY bit of aux_attributes, set when a policy is attached.
const (
	osaPrincVersion1 = 0x12345C01
	kadm5Policy      = 0x800
)

// PolicyName returns the name of the policy attached to p, "" if none.
func (p *Principal) PolicyName() (string, error) {
	for _, tl := range p.TLData {
		if tl.Type == TLKADMData {
			return decodeKADMPolicy(tl.Data)
		}
	}
	return "", nil
}

// decodeKADMPolicy reads the policy from the head of an XDR
// osa_princ_ent_rec: version, nullstring policy, aux_attributes. The
// password history that follows is not needed.
func decodeKADMPolicy(b []byte) (string, error) {
	bad := errors.New("malformed kadmin data (tl_data 3)")
	if len(b) < 8 || binary.BigEndian.Uint32(b) != osaPrincVersion1 {
		return "", bad
	}
	size := binary.BigEndian.Uint32(b[4:])
	b = b[8:]
	var policy string
	if size > 0 {
		padded := (uint64(size) + 3) &^ 3
		if uint64(len(b)) < padded || size > MaxNameBytes+1 || b[size-1] != 0 {
			return "", bad
		}
		policy = string(b[:size-1])
		b = b[padded:]
	}
	if len(b) < 4 {
		return "", bad
	}
	if binary.BigEndian.Uint32(b)&kadm5Policy == 0 {
		return "", nil
	}
	if policy == "" {
		return "", fmt.Errorf("%w: policy flag without a name", bad)
	}
	return policy, nil
}

// KADMData encodes kadmind's per-principal data with the given policy
// ("" for none) and no password history.
func KADMData(policy string) []byte {
	b := binary.BigEndian.AppendUint32(nil, osaPrincVersion1)
	var aux uint32
	if policy == "" {
		b = binary.BigEndian.AppendUint32(b, 0)
	} else {
		aux = kadm5Policy
		b = binary.BigEndian.AppendUint32(b, uint32(len(policy)+1))
		b = append(b, policy...)
		b = append(b, 0)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	b = binary.BigEndian.AppendUint32(b, aux)
	b = binary.BigEndian.AppendUint32(b, 0)    // old_key_next
	b = binary.BigEndian.AppendUint32(b, 0)    // admin_history_kvno
	return binary.BigEndian.AppendUint32(b, 0) // no old keys
}
