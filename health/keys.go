package health

import (
	"fmt"
	"slices"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// etypePreference is the order in which the probe offers enctypes, strongest
// first, the way MIT and recent JDKs order them; only those with a key in
// the keytab are offered.
var etypePreference = []int32{
	etypeID.AES256_CTS_HMAC_SHA1_96,
	etypeID.AES128_CTS_HMAC_SHA1_96,
	etypeID.AES256_CTS_HMAC_SHA384_192,
	etypeID.AES128_CTS_HMAC_SHA256_128,
	etypeID.DES3_CBC_SHA1_KD,
	etypeID.RC4_HMAC,
}

// clientKeys are the keys of one principal found in a keytab.
type clientKeys struct {
	entries []keyEntry
}

type keyEntry struct {
	kvno int
	key  types.EncryptionKey
}

// keysFor returns the keytab keys of cname@realm.
func keysFor(kt *keytab.Keytab, cname types.PrincipalName, realm string) clientKeys {
	var ck clientKeys
	for _, e := range kt.Entries {
		if e.Principal.Realm == realm && slices.Equal(e.Principal.Components, cname.NameString) {
			ck.entries = append(ck.entries, keyEntry{kvno: int(e.KVNO), key: e.Key})
		}
	}
	return ck
}

// etypes lists the enctypes we hold a key for, in preference order.
func (ck clientKeys) etypes() []int32 {
	var out []int32
	for _, et := range etypePreference {
		if _, err := ck.key(et, 0); err == nil {
			out = append(out, et)
		}
	}
	return out
}

// key returns the key for etype with the given kvno, or the highest kvno
// when kvno is 0 (a keytab may hold old and new keys after a rotation).
func (ck clientKeys) key(etype int32, kvno int) (keyEntry, error) {
	var best keyEntry
	found := false
	for _, e := range ck.entries {
		if e.key.KeyType != etype || (kvno != 0 && e.kvno != kvno) {
			continue
		}
		if !found || e.kvno > best.kvno {
			best, found = e, true
		}
	}
	if !found {
		return keyEntry{}, fmt.Errorf("keytab has no key for enctype %d kvno %d", etype, kvno)
	}
	return best, nil
}

// decrypt decrypts ed with key after checking the length, because gokrb5
// panics on ciphertext shorter than confounder plus checksum.
func decrypt(ed types.EncryptedData, key types.EncryptionKey, usage uint32) ([]byte, error) {
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("enctype %d: %w", key.KeyType, err)
	}
	if need := et.GetConfounderByteSize() + et.GetHMACBitLength()/8; len(ed.Cipher) < need {
		return nil, fmt.Errorf("ciphertext of %d bytes is shorter than %d", len(ed.Cipher), need)
	}
	return crypto.DecryptEncPart(ed, key, usage)
}
