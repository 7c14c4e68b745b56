package db

import (
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"

	"github.com/kdcha/kdcha/kdc/internal/kcrypto"
)

// DefaultEncTypes are the enctypes new keys are made for when Options does
// not say otherwise: MIT's default supported_enctypes since 1.14.
var DefaultEncTypes = []int32{etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96}

// encTypeInfo describes an enctype the database holds.
type encTypeInfo struct {
	// name is MIT's name of the enctype; aliases are the other names MIT
	// accepts for it (krb5 src/lib/crypto/krb/etypes.c).
	name    string
	aliases []string
}

// supportedEncTypes are the only enctypes the database will hold, and the
// one table of their names. DES, 3DES and RC4 are refused outright rather
// than merely not defaulted, so a config typo cannot reintroduce them. Key
// sizes are kcrypto's (keyBytes).
var supportedEncTypes = map[int32]encTypeInfo{
	etypeID.AES128_CTS_HMAC_SHA1_96:    {"aes128-cts-hmac-sha1-96", []string{"aes128-cts", "aes128-sha1"}},
	etypeID.AES256_CTS_HMAC_SHA1_96:    {"aes256-cts-hmac-sha1-96", []string{"aes256-cts", "aes256-sha1"}},
	etypeID.AES128_CTS_HMAC_SHA256_128: {"aes128-cts-hmac-sha256-128", []string{"aes128-sha2"}},
	etypeID.AES256_CTS_HMAC_SHA384_192: {"aes256-cts-hmac-sha384-192", []string{"aes256-sha2"}},
}

// supportedNames and supportedNumbers list the supported enctypes, from
// the table, for error messages: the defaults first, then the others,
// strongest first.
var supportedNames, supportedNumbers = func() (string, string) {
	ids := slices.Clone(DefaultEncTypes)
	for _, id := range slices.Backward(slices.Sorted(maps.Keys(supportedEncTypes))) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	names, numbers := make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		names[i], numbers[i] = supportedEncTypes[id].name, strconv.Itoa(int(id))
	}
	return strings.Join(names, ", "), strings.Join(numbers, ", ")
}()

// keyBytes is the key size of a supported enctype.
func keyBytes(etype int32) (int, error) {
	n, err := kcrypto.KeySize(etype)
	if err != nil {
		return 0, fmt.Errorf("%w: %d: %w", ErrUnsupportedEncType, etype, err)
	}
	return n, nil
}

// EncTypeName returns MIT's name of an enctype ("enctype-N" for one the
// database does not hold).
func EncTypeName(etype int32) string {
	if info, ok := supportedEncTypes[etype]; ok {
		return info.name
	}
	return "enctype-" + strconv.Itoa(int(etype))
}

// EncTypeNames returns the MIT names of etypes, in order.
func EncTypeNames(etypes []int32) []string {
	out := make([]string, 0, len(etypes))
	for _, e := range etypes {
		out = append(out, EncTypeName(e))
	}
	return out
}

// ParseEncTypes reads a list of enctypes by MIT name, MIT alias or number;
// an element may itself be a comma- or space-separated list, as MIT's
// supported_enctypes is. The result is validated (non-empty, supported, no
// duplicates); DES, 3DES and RC4 get an error saying they are refused.
func ParseEncTypes(names []string) ([]int32, error) {
	var out []int32
	for _, n := range names {
		for _, one := range strings.FieldsFunc(n, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			id, err := EncTypeByName(one)
			if err != nil {
				return nil, err
			}
			out = append(out, id)
		}
	}
	if err := validateEncTypes(out); err != nil {
		return nil, err
	}
	return out, nil
}

// validateEncTypes checks an enctype list: non-empty, supported, no
// duplicates.
func validateEncTypes(etypes []int32) error {
	if len(etypes) == 0 {
		return fmt.Errorf("%w: empty enctype list", ErrUnsupportedEncType)
	}
	seen := make(map[int32]bool, len(etypes))
	for _, et := range etypes {
		if _, ok := supportedEncTypes[et]; !ok {
			return fmt.Errorf("%w: %d (only %s are allowed)", ErrUnsupportedEncType, et, supportedNumbers)
		}
		if seen[et] {
			return fmt.Errorf("%w: %s listed twice", ErrUnsupportedEncType, EncTypeName(et))
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
		if _, ok := supportedEncTypes[id]; !ok {
			return nil, fmt.Errorf("%w: %d", ErrUnsupportedEncType, id)
		}
		et, err := crypto.GetEtype(id)
		if err != nil {
			return nil, fmt.Errorf("%w: %d: %w", ErrUnsupportedEncType, id, err)
		}
		v, err := et.StringToKey(password, salt, et.GetDefaultStringToKeyParams())
		if err != nil {
			return nil, fmt.Errorf("derive %s key: %w", EncTypeName(id), err)
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
		size, err := keyBytes(id)
		if err != nil {
			return nil, err
		}
		// For every supported (AES) enctype random-to-key is the identity,
		// so the random bytes are the key.
		v := make([]byte, size)
		if _, err := rand.Read(v); err != nil {
			return nil, fmt.Errorf("random %s key: %w", EncTypeName(id), err)
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

// weakEncTypes are the enctype numbers of the DES, 3DES and RC4 families
// (RFC 3961, RFC 4757), named in refusals so the reason is clear.
var weakEncTypes = map[int32]bool{1: true, 2: true, 3: true, 5: true, 7: true, 16: true, 23: true, 24: true}

// EncTypeByName returns the number of a supported enctype from its MIT
// name (aes256-cts-hmac-sha1-96, ...), one of MIT's aliases (aes256-cts,
// aes256-sha2, ...) or its number ("18"), ignoring case.
func EncTypeByName(name string) (int32, error) {
	for id, info := range supportedEncTypes {
		if strings.EqualFold(name, info.name) || name == strconv.Itoa(int(id)) {
			return id, nil
		}
		for _, a := range info.aliases {
			if strings.EqualFold(name, a) {
				return id, nil
			}
		}
	}
	lower := strings.ToLower(name)
	n, err := strconv.Atoi(name)
	if strings.HasPrefix(lower, "des") || strings.HasPrefix(lower, "arcfour") || strings.HasPrefix(lower, "rc4") || (err == nil && weakEncTypes[int32(n)]) {
		return 0, fmt.Errorf("%w: %q: DES, 3DES and RC4 are broken and kdcha refuses them (use %s)", ErrUnsupportedEncType, name, supportedNames)
	}
	return 0, fmt.Errorf("%w: %q (use %s)", ErrUnsupportedEncType, name, supportedNames)
}
