package db

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
)

// DefaultEncTypes are the enctypes new keys are made for when Options does
// not say otherwise: MIT's default supported_enctypes since 1.14.
var DefaultEncTypes = []int32{etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96}

// encTypeInfo describes an enctype the database holds.
type encTypeInfo struct {
	name string
	// keyBytes is the key size. It is not taken from gokrb5, whose
	// GetKeyByteSize wrongly says 24 for aes256-cts-hmac-sha384-192.
	keyBytes int
}

// supportedEncTypes are the only enctypes the database will hold. DES, 3DES
// and RC4 are refused outright rather than merely not defaulted, so a config
// typo cannot reintroduce them.
var supportedEncTypes = map[int32]encTypeInfo{
	etypeID.AES128_CTS_HMAC_SHA1_96:    {"aes128-cts-hmac-sha1-96", 16},
	etypeID.AES256_CTS_HMAC_SHA1_96:    {"aes256-cts-hmac-sha1-96", 32},
	etypeID.AES128_CTS_HMAC_SHA256_128: {"aes128-cts-hmac-sha256-128", 16},
	etypeID.AES256_CTS_HMAC_SHA384_192: {"aes256-cts-hmac-sha384-192", 32},
}

// validateEncTypes checks a configured enctype list: non-empty, supported,
// no duplicates.
func validateEncTypes(etypes []int32) error {
	if len(etypes) == 0 {
		return fmt.Errorf("%w: empty enctype list", ErrUnsupportedEncType)
	}
	seen := make(map[int32]bool, len(etypes))
	for _, et := range etypes {
		if _, ok := supportedEncTypes[et]; !ok {
			return fmt.Errorf("%w: %d (only 17, 18, 19, 20 are allowed)", ErrUnsupportedEncType, et)
		}
		if seen[et] {
			return fmt.Errorf("%w: %d listed twice", ErrUnsupportedEncType, et)
		}
		seen[et] = true
	}
	return nil
}

// plainKey is a key before sealing; its KVNO is assigned later, at seal time.
type plainKey struct {
	etype int32
	salt  string
	value []byte
}

// passwordKeys derives one key per enctype with string-to-key and the
// default salt of the canonical name.
func passwordKeys(password string, components []string, realm string, etypes []int32) ([]plainKey, error) {
	salt := DefaultSalt(components, realm)
	keys := make([]plainKey, 0, len(etypes))
	for _, id := range etypes {
		info, ok := supportedEncTypes[id]
		if !ok {
			return nil, fmt.Errorf("%w: %d", ErrUnsupportedEncType, id)
		}
		et, err := crypto.GetEtype(id)
		if err != nil {
			return nil, fmt.Errorf("%w: %d: %w", ErrUnsupportedEncType, id, err)
		}
		v, err := et.StringToKey(password, salt, et.GetDefaultStringToKeyParams())
		if err != nil {
			return nil, fmt.Errorf("derive %s key: %w", info.name, err)
		}
		keys = append(keys, plainKey{etype: id, salt: salt, value: v})
	}
	return keys, nil
}

// randomKeys makes one random key per enctype. The default salt is still
// recorded because the KDC always sends a salt in PA-ETYPE-INFO2.
func randomKeys(components []string, realm string, etypes []int32) ([]plainKey, error) {
	salt := DefaultSalt(components, realm)
	keys := make([]plainKey, 0, len(etypes))
	for _, id := range etypes {
		info, ok := supportedEncTypes[id]
		if !ok {
			return nil, fmt.Errorf("%w: %d", ErrUnsupportedEncType, id)
		}
		// For every supported (AES) enctype random-to-key is the identity,
		// so the random bytes are the key.
		v := make([]byte, info.keyBytes)
		if _, err := rand.Read(v); err != nil {
			return nil, fmt.Errorf("random %s key: %w", info.name, err)
		}
		keys = append(keys, plainKey{etype: id, salt: salt, value: v})
	}
	return keys, nil
}

// sealKeys seals keys for principal name at the given kvno.
func sealKeys(mk *MasterKey, name string, kvno uint32, keys []plainKey) ([]sealedKey, error) {
	out := make([]sealedKey, 0, len(keys))
	for _, k := range keys {
		s, err := mk.seal(name, k.etype, kvno, k.value)
		if err != nil {
			return nil, err
		}
		out = append(out, sealedKey{EType: k.etype, Salt: k.salt, Sealed: s})
	}
	return out, nil
}

// EncTypeByName returns the number of a supported enctype from its MIT
// name (aes256-cts-hmac-sha1-96, ...) or its number ("18").
func EncTypeByName(name string) (int32, error) {
	for id, info := range supportedEncTypes {
		if strings.EqualFold(name, info.name) || name == strconv.Itoa(int(id)) {
			return id, nil
		}
	}
	return 0, fmt.Errorf("%w: %q (use aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192 or aes128-cts-hmac-sha256-128)", ErrUnsupportedEncType, name)
}
