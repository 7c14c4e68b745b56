package mitdump

import "encoding/binary"

// Tagged data of a principal's history that kdb5_util dumps and kadmin
// shows (TLLastPwdChange, TLModPrinc; MIT's src/lib/kdb/kdb5.c,
// krb5_dbe_update_last_pwd_change and krb5_dbe_update_mod_princ_data). MIT
// encodes both times with krb5_kdb_encode_int32: 4 bytes, little-endian,
// seconds since the epoch (unsigned past 2038, as MIT's ts_* helpers read
// them).

// LastPasswordChangeTL encodes a last password change time.
func LastPasswordChangeTL(t uint32) TLData {
	return TLData{Type: TLLastPwdChange, Data: binary.LittleEndian.AppendUint32(nil, t)}
}

// LastPasswordChange returns p's last password change time, 0 if unknown.
// Like MIT's krb5_dbe_lookup_last_pwd_change, a value that is not 4 bytes
// long reads as unknown rather than failing the record.
func (p *Principal) LastPasswordChange() uint32 {
	for _, tl := range p.TLData {
		if tl.Type == TLLastPwdChange && len(tl.Data) == 4 {
			return binary.LittleEndian.Uint32(tl.Data)
		}
	}
	return 0
}

// ModPrincTL encodes the time and author of a principal's last change.
// kdcha does not read it back: its own modification time is the import's.
func ModPrincTL(t uint32, by string) TLData {
	b := binary.LittleEndian.AppendUint32(nil, t)
	b = append(b, by...)
	return TLData{Type: TLModPrinc, Data: append(b, 0)}
}
