package kdc

import (
	"errors"
	"fmt"
	"io"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/db"
)

// permittedEType reports whether the KDC will use an enctype for any key:
// only the AES families. DES, 3DES and RC4 are refused outright, as MIT does
// by default since 1.21, so a downgrade request cannot weaken a ticket.
func permittedEType(e int32) bool {
	_, ok := keySizes[e]
	return ok
}

// selectKey returns the principal's key for the first enctype in the
// client's preference order that the principal holds and the KDC permits.
// This is both the AS reply key choice and the PA-ETYPE-INFO2 hint (MIT's
// select_client_key), so a client derives the key the KDC will use.
func selectKey(p *db.Principal, clientETypes []int32) (db.Key, bool) {
	for _, e := range clientETypes {
		if !permittedEType(e) {
			continue
		}
		if k, ok := p.KeyFor(e); ok {
			return k, true
		}
	}
	return db.Key{}, false
}

// selectSessionEType picks the session key enctype: the first in the
// client's order that is permitted and that the service has a key for.
func selectSessionEType(service *db.Principal, clientETypes []int32) (int32, bool) {
	k, ok := selectKey(service, clientETypes)
	return k.EType, ok
}

// ticketKey is the service key a ticket is encrypted in: the service's first
// permitted key (keys are stored strongest first, at the current kvno).
func ticketKey(service *db.Principal) (db.Key, bool) {
	for _, k := range service.Keys {
		if permittedEType(k.EType) {
			return k, true
		}
	}
	return db.Key{}, false
}

// keySizes are the key lengths of the permitted enctypes. gokrb5's
// GetKeyByteSize says 24 for aes256-cts-hmac-sha384-192, whose keys are 32
// bytes (RFC 8009), so it cannot be trusted for this.
var keySizes = map[int32]int{
	etypeID.AES128_CTS_HMAC_SHA1_96:    16,
	etypeID.AES256_CTS_HMAC_SHA1_96:    32,
	etypeID.AES128_CTS_HMAC_SHA256_128: 16,
	etypeID.AES256_CTS_HMAC_SHA384_192: 32,
}

// newSessionKey draws a fresh random key of the given enctype. AES keys are
// the random bytes themselves (random-to-key is the identity).
func newSessionKey(rnd io.Reader, e int32) (types.EncryptionKey, error) {
	size, ok := keySizes[e]
	if !ok {
		return types.EncryptionKey{}, fmt.Errorf("session key enctype %d not permitted", e)
	}
	key := make([]byte, size)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return types.EncryptionKey{}, fmt.Errorf("read random session key: %w", err)
	}
	return types.EncryptionKey{KeyType: e, KeyValue: key}, nil
}

func encryptionKey(k db.Key) types.EncryptionKey {
	return types.EncryptionKey{KeyType: k.EType, KeyValue: k.Value}
}

var errShortCiphertext = errors.New("ciphertext shorter than confounder and checksum")

// decrypt decrypts and integrity-checks ciphertext. It checks the length
// first because gokrb5's DecryptMessage slices before checking and panics on
// ciphertext shorter than its checksum, which any client can send.
func decrypt(ed types.EncryptedData, key types.EncryptionKey, usage uint32) ([]byte, error) {
	if ed.EType != key.KeyType {
		return nil, fmt.Errorf("ciphertext enctype %d does not match key enctype %d", ed.EType, key.KeyType)
	}
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("enctype %d: %w", key.KeyType, err)
	}
	if len(ed.Cipher) < minCiphertext(et) {
		return nil, errShortCiphertext
	}
	return et.DecryptMessage(key.KeyValue, ed.Cipher, usage)
}

// minCiphertext is the shortest valid ciphertext: a confounder and a MAC
// around an empty plaintext.
func minCiphertext(et etype.EType) int {
	return et.GetConfounderByteSize() + et.GetHMACBitLength()/8
}

// encrypt seals plaintext under key with the given key usage.
func encrypt(plain []byte, key types.EncryptionKey, usage uint32, kvno uint32) (types.EncryptedData, error) {
	ed, err := crypto.GetEncryptedData(plain, key, usage, int(kvno))
	if err != nil {
		return types.EncryptedData{}, fmt.Errorf("encrypt with enctype %d usage %d: %w", key.KeyType, usage, err)
	}
	return ed, nil
}
