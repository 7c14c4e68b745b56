package kdc

import (
	"fmt"
	"io"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/kdc/internal/kcrypto"
)

// permittedEType reports whether the KDC will use an enctype for any key:
// only the AES families. DES, 3DES and RC4 are refused outright, as MIT does
// by default since 1.21, so a downgrade request cannot weaken a ticket.
func permittedEType(e int32) bool { return db.SupportedEncType(e) }

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

// newSessionKey draws a fresh random key of the given enctype. AES keys are
// the random bytes themselves (random-to-key is the identity).
func newSessionKey(rnd io.Reader, e int32) (types.EncryptionKey, error) {
	if !permittedEType(e) {
		return types.EncryptionKey{}, fmt.Errorf("session key enctype %d not permitted", e)
	}
	size, err := kcrypto.KeySize(e)
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("session key: %w", err)
	}
	key := make([]byte, size)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return types.EncryptionKey{}, fmt.Errorf("read random session key: %w", err)
	}
	return types.EncryptionKey{KeyType: e, KeyValue: key}, nil
}

// maxDerivedKeys bounds the derived-key cache: each entry (an expanded AES
// key schedule and two HMAC keys) is under 1 KiB, so this is a few MiB.
const maxDerivedKeys = 8192

// derivedKeys holds the derived keys of database keys (krbtgt, services,
// clients), which serve many requests each; session keys and subkeys are
// derived per use instead (sessionKeys). Entries are keyed by key bytes, so
// a rekey needs no invalidation.
var derivedKeys = kcrypto.NewCache(maxDerivedKeys)

// longTermKeys returns the derived keys of a database key for a key usage.
func longTermKeys(k db.Key, usage uint32) (*kcrypto.Keys, error) {
	keys, err := derivedKeys.Get(k.EType, k.Value, usage)
	if err != nil {
		return nil, fmt.Errorf("derive keys of enctype %d usage %d: %w", k.EType, usage, err)
	}
	return keys, nil
}

// sessionKeys derives the keys of a session key or subkey for a key usage.
func sessionKeys(k types.EncryptionKey, usage uint32) (*kcrypto.Keys, error) {
	keys, err := kcrypto.Derive(k.KeyType, k.KeyValue, usage)
	if err != nil {
		return nil, fmt.Errorf("derive keys of enctype %d usage %d: %w", k.KeyType, usage, err)
	}
	return keys, nil
}

// decrypt decrypts and integrity-checks ciphertext (kcrypto checks the
// length before slicing: gokrb5 panicked on ciphertext shorter than its
// checksum, which any client can send).
func decrypt(ed types.EncryptedData, keys *kcrypto.Keys) ([]byte, error) {
	if ed.EType != keys.EType() {
		return nil, fmt.Errorf("ciphertext enctype %d does not match key enctype %d", ed.EType, keys.EType())
	}
	return keys.Decrypt(ed.Cipher)
}

// encrypt seals plaintext; kvno is the key's version (0: not sent).
func encrypt(plain []byte, keys *kcrypto.Keys, kvno uint32) (types.EncryptedData, error) {
	c, err := keys.Encrypt(plain)
	if err != nil {
		return types.EncryptedData{}, fmt.Errorf("encrypt with enctype %d: %w", keys.EType(), err)
	}
	return types.EncryptedData{EType: keys.EType(), KVNO: int(kvno), Cipher: c}, nil
}
