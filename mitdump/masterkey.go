package mitdump

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/common"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// ErrWrongMasterKey means a master key does not decrypt the dump's keys.
var ErrWrongMasterKey = errors.New("MIT master key does not match the dump")

// masterKeyUsage is the key usage MIT encrypts database keys with
// (krb5_dbe_def_encrypt_key_data passes 0 to krb5_c_encrypt).
const masterKeyUsage = 0

// MasterKeyName returns the name of the principal that holds a realm's
// master key, K/M@REALM.
func MasterKeyName(realm string) string { return "K/M@" + realm }

// MasterKey is an MIT realm master key.
type MasterKey struct {
	EType int32
	KVNO  uint32
	Key   []byte
}

// ReadStash decodes an MIT stash file: the keytab format that kdb5_util
// writes since MIT 1.7 (the entry for K/M with the highest kvno is used), or
// the older "enctype (2 bytes), length (4 bytes), key" form in host (little
// endian) byte order.
func ReadStash(b []byte) (MasterKey, error) {
	if len(b) >= 2 && b[0] == 5 && (b[1] == 1 || b[1] == 2) {
		kt := keytab.New()
		if err := kt.Unmarshal(b); err != nil {
			return MasterKey{}, fmt.Errorf("MIT stash (keytab format): %w", err)
		}
		var mk MasterKey
		for _, e := range kt.Entries {
			kvno := max(e.KVNO, uint32(e.KVNO8))
			if strings.Join(e.Principal.Components, "/") == "K/M" && kvno >= mk.KVNO {
				mk = MasterKey{EType: e.Key.KeyType, KVNO: kvno, Key: e.Key.KeyValue}
			}
		}
		if mk.Key == nil {
			return MasterKey{}, errors.New("MIT stash has no K/M key")
		}
		return mk, nil
	}
	if len(b) < 6 {
		return MasterKey{}, errors.New("MIT stash: too short")
	}
	n := binary.LittleEndian.Uint32(b[2:])
	if uint64(n) != uint64(len(b)-6) {
		return MasterKey{}, fmt.Errorf("MIT stash: key length %d, file holds %d bytes", n, len(b)-6)
	}
	return MasterKey{EType: int32(int16(binary.LittleEndian.Uint16(b))), KVNO: 1, Key: bytes.Clone(b[6:])}, nil
}

// FindMasterKey returns the K/M record of realm in d.
func FindMasterKey(d *Dump, realm string) (*Principal, error) {
	for i := range d.Principals {
		if d.Principals[i].Name == MasterKeyName(realm) {
			return &d.Principals[i], nil
		}
	}
	return nil, fmt.Errorf("dump has no %s: not a dump of realm %s", MasterKeyName(realm), realm)
}

// MasterKeyFromPassword derives the master key from the master password as
// kdb5_util does: string-to-key of the K/M principal's key enctype with
// its salt (normally the default salt of K/M@REALM). It checks the result
// against km, the K/M record, whose key is the master key encrypted with
// itself.
func MasterKeyFromPassword(password string, km *Principal) (MasterKey, error) {
	kd, err := newestKey(km)
	if err != nil {
		return MasterKey{}, err
	}
	salt, err := kd.SaltBytes(km.Name)
	if err != nil {
		return MasterKey{}, err
	}
	mk, err := deriveMasterKey(password, int32(kd.EType), uint32(kd.KVNO), salt)
	if err != nil {
		return MasterKey{}, err
	}
	return mk, mk.Check(km)
}

// DefaultMasterKeyFromPassword derives the master key that `kdb5_util
// create` makes from password for realm with MIT's defaults
// (aes256-cts-hmac-sha1-96, kvno 1, the default salt of K/M@REALM), for
// when no K/M record is at hand to check it against.
func DefaultMasterKeyFromPassword(password, realm string) (MasterKey, error) {
	return deriveMasterKey(password, etypeID.AES256_CTS_HMAC_SHA1_96, 1, []byte(realm+"KM"))
}

func deriveMasterKey(password string, etype int32, kvno uint32, salt []byte) (MasterKey, error) {
	et, err := crypto.GetEtype(etype)
	if err != nil {
		return MasterKey{}, fmt.Errorf("master key enctype %d: %w", etype, err)
	}
	key, err := et.StringToKey(password, string(salt), et.GetDefaultStringToKeyParams())
	if err != nil {
		return MasterKey{}, fmt.Errorf("derive master key: %w", err)
	}
	return MasterKey{EType: etype, KVNO: kvno, Key: key}, nil
}

// Check verifies mk against km, the K/M record of the dump.
func (mk MasterKey) Check(km *Principal) error {
	kd, err := newestKey(km)
	if err != nil {
		return err
	}
	got, err := mk.Decrypt(kd)
	if err != nil || subtle.ConstantTimeCompare(got, mk.Key) != 1 {
		return fmt.Errorf("%w (%s, line %d)", ErrWrongMasterKey, km.Name, km.Line)
	}
	return nil
}

func newestKey(p *Principal) (KeyData, error) {
	if len(p.Keys) == 0 {
		return KeyData{}, fmt.Errorf("%s has no key", p.Name)
	}
	best := p.Keys[0]
	for _, k := range p.Keys[1:] {
		if k.KVNO > best.KVNO {
			best = k
		}
	}
	return best, nil
}

// Decrypt returns the plaintext key of kd (krb5_dbe_def_decrypt_key_data).
func (mk MasterKey) Decrypt(kd KeyData) ([]byte, error) {
	if len(kd.Contents) < 2 {
		return nil, errors.New("key data too short")
	}
	n := int(binary.LittleEndian.Uint16(kd.Contents))
	et, err := crypto.GetEtype(mk.EType)
	if err != nil {
		return nil, fmt.Errorf("master key enctype %d: %w", mk.EType, err)
	}
	pt, err := et.DecryptMessage(mk.Key, kd.Contents[2:], masterKeyUsage)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrongMasterKey, err)
	}
	if n > len(pt) {
		return nil, fmt.Errorf("key length %d beyond the %d decrypted bytes", n, len(pt))
	}
	return pt[:n], nil
}

// Encrypt returns key data for key (of the given enctype and kvno)
// encrypted with mk, with salt bytes salt for principal name
// (krb5_dbe_def_encrypt_key_data). Master keys of the RFC 3962 enctypes
// (aes128/256-cts-hmac-sha1-96, MIT's defaults) are supported.
func (mk MasterKey) Encrypt(name string, etype int32, kvno uint16, key, salt []byte) (KeyData, error) {
	ct, err := mk.encrypt(key)
	if err != nil {
		return KeyData{}, fmt.Errorf("encrypt key with the MIT master key: %w", err)
	}
	contents := binary.LittleEndian.AppendUint16(make([]byte, 0, 2+len(ct)), uint16(len(key)))
	contents = append(contents, ct...)
	ver, st, sd, err := SaltFor(name, salt)
	if err != nil {
		return KeyData{}, err
	}
	return KeyData{Ver: ver, KVNO: kvno, EType: int16(etype), Contents: contents, SaltType: st, Salt: sd}, nil
}

// encrypt is RFC 3961's simplified-profile encryption with key usage 0.
// It is spelled out because gokrb5's EncryptMessage skips the key
// derivation for usage 0 (its DecryptMessage does not, and is what MIT
// interoperates with).
func (mk MasterKey) encrypt(plaintext []byte) ([]byte, error) {
	if mk.EType != etypeID.AES128_CTS_HMAC_SHA1_96 && mk.EType != etypeID.AES256_CTS_HMAC_SHA1_96 {
		return nil, fmt.Errorf("master key enctype %d: only aes128/aes256-cts-hmac-sha1-96 master keys can encrypt", mk.EType)
	}
	et, err := crypto.GetEtype(mk.EType)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, et.GetConfounderByteSize(), et.GetConfounderByteSize()+len(plaintext))
	if _, err := rand.Read(plain); err != nil {
		return nil, fmt.Errorf("confounder: %w", err)
	}
	plain = append(plain, plaintext...)
	ke, err := et.DeriveKey(mk.Key, common.GetUsageKe(masterKeyUsage))
	if err != nil {
		return nil, err
	}
	_, ct, err := et.EncryptData(ke, plain)
	if err != nil {
		return nil, err
	}
	mac, err := common.GetIntegrityHash(plain, mk.Key, masterKeyUsage, et)
	if err != nil {
		return nil, err
	}
	return append(ct, mac...), nil
}
