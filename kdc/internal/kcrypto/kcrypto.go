// Package kcrypto implements the RFC 3961 simplified profile for the AES
// enctypes the KDC permits (RFC 3962 aes*-cts-hmac-sha1-96, RFC 8009
// aes128-cts-hmac-sha256-128 and aes256-cts-hmac-sha384-192): key
// derivation, encryption, decryption and checksums.
//
// It exists because gokrb5 re-derives Ke, Ki and Kc (a bit-by-bit n-fold
// and several AES key schedules) on every call and allocates throughout,
// which was 15-29% of the KDC's CPU. Here derivation happens once per base
// key and usage (Derive, or Cache for long-lived keys), and the derived
// keys are kept ready to use: Ke as an expanded AES key schedule.
//
// It does not implement string-to-key or any non-AES enctype. The tests
// check it against the RFC 3961/3962/8009 test vectors and, on random keys
// and messages, bit for bit against gokrb5.
package kcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Enctype numbers (RFC 3962, RFC 8009).
const (
	AES128SHA1   = 17
	AES256SHA1   = 18
	AES128SHA256 = 19
	AES256SHA384 = 20
)

// confounderSize is the AES block size, the confounder of every AES enctype.
const confounderSize = aes.BlockSize

// profile is what differs between the four enctypes.
type profile struct {
	keySize int        // base key and Ke length
	macSize int        // truncated HMAC length, also Kc/Ki length for RFC 8009
	rfc8009 bool       // KDF-HMAC-SHA2 derivation and MAC over the ciphertext
	hashes  *sync.Pool // of *hashState of the HMAC hash, for hmacKey
}

var (
	aes128sha1   = profile{keySize: 16, macSize: 12, hashes: hashPool(sha1.New)}
	aes256sha1   = profile{keySize: 32, macSize: 12, hashes: hashPool(sha1.New)}
	aes128sha256 = profile{keySize: 16, macSize: 16, rfc8009: true, hashes: hashPool(sha256.New)}
	aes256sha384 = profile{keySize: 32, macSize: 24, rfc8009: true, hashes: hashPool(sha512.New384)}
)

func profileOf(etype int32) (*profile, error) {
	switch etype {
	case AES128SHA1:
		return &aes128sha1, nil
	case AES256SHA1:
		return &aes256sha1, nil
	case AES128SHA256:
		return &aes128sha256, nil
	case AES256SHA384:
		return &aes256sha384, nil
	}
	return nil, fmt.Errorf("enctype %d not supported", etype)
}

// KeySize is the length in bytes of a base key of etype: the one home of
// that fact (gokrb5's GetKeyByteSize says 24 for aes256-cts-hmac-sha384-192,
// whose keys are 32 bytes, RFC 8009).
func KeySize(etype int32) (int, error) {
	p, err := profileOf(etype)
	if err != nil {
		return 0, err
	}
	return p.keySize, nil
}

// ErrIntegrity is returned when a ciphertext's MAC does not verify: wrong
// key, wrong usage or tampering.
var ErrIntegrity = errors.New("integrity check failed")

// ErrShortCiphertext is returned for a ciphertext shorter than a confounder
// and a MAC, which no encryption produces.
var ErrShortCiphertext = errors.New("ciphertext shorter than confounder and checksum")

// Keys are the encryption keys (Ke, Ki) derived from one base key for one
// key usage. They are immutable and safe for concurrent use.
type Keys struct {
	etype int32
	p     *profile
	ke    cipher.Block
	ki    hmacKey
}

// EType is the enctype of the base key the keys were derived from.
func (k *Keys) EType() int32 { return k.etype }

// checkKey returns the profile of etype, refusing a key of the wrong size.
func checkKey(etype int32, key []byte) (*profile, error) {
	p, err := profileOf(etype)
	if err != nil {
		return nil, err
	}
	if len(key) != p.keySize {
		return nil, fmt.Errorf("enctype %d: key of %d bytes, want %d", etype, len(key), p.keySize)
	}
	return p, nil
}

// derive is DK (RFC 3961 section 5.3, RFC 3962) or KDF-HMAC-SHA2 (RFC 8009
// section 5) of key for usage and kind (0xAA Ke, 0x55 Ki, 0x99 Kc).
// The result is in out, a scratch buffer (see getScratch).
func derive(out []byte, p *profile, key []byte, usage uint32, kind byte, size int) ([]byte, error) {
	if p.rfc8009 {
		return kdfHMACSHA2(out, p, key, usage, kind, size), nil
	}
	base, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return dk(out, base, size, usage, kind), nil
}

// scratchSize fits a derived key and the whole block DR computes past it,
// or KDF-HMAC-SHA2's input.
const scratchSize = 64

// scratchPool holds the buffers derived keys are computed in. They are
// copied at once into a key schedule or HMAC pads, so a buffer is cleared
// and reused instead of allocated per derivation (it would escape through
// the cipher.Block interface anyway).
var scratchPool = sync.Pool{New: func() any { return new([scratchSize]byte) }}

func getScratch() *[scratchSize]byte { return scratchPool.Get().(*[scratchSize]byte) }

func putScratch(b *[scratchSize]byte) {
	clear(b[:])
	scratchPool.Put(b)
}

// Derive computes Ke and Ki for base key key of the given enctype and key
// usage, for Encrypt and Decrypt.
func Derive(etype int32, key []byte, usage uint32) (*Keys, error) {
	p, err := checkKey(etype, key)
	if err != nil {
		return nil, err
	}
	s1, s2 := getScratch(), getScratch()
	defer putScratch(s1)
	defer putScratch(s2)
	var ke, ki []byte
	if p.rfc8009 {
		ke = kdfHMACSHA2(s1[:], p, key, usage, 0xAA, p.keySize)
		ki = kdfHMACSHA2(s2[:], p, key, usage, 0x55, p.macSize)
	} else {
		base, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("enctype %d: %w", etype, err)
		}
		ke = dk(s1[:], base, p.keySize, usage, 0xAA)
		ki = dk(s2[:], base, p.keySize, usage, 0x55)
	}
	block, err := aes.NewCipher(ke)
	if err != nil {
		return nil, fmt.Errorf("enctype %d: %w", etype, err)
	}
	return &Keys{etype: etype, p: p, ke: block, ki: newHMACKey(p, ki)}, nil
}

// ChecksumKey is the checksum key (Kc) derived from one base key for one
// key usage.
type ChecksumKey struct {
	p  *profile
	kc hmacKey
}

// DeriveChecksumKey computes Kc for base key key of the given enctype and
// key usage.
func DeriveChecksumKey(etype int32, key []byte, usage uint32) (*ChecksumKey, error) {
	p, err := checkKey(etype, key)
	if err != nil {
		return nil, err
	}
	size := p.keySize
	if p.rfc8009 {
		size = p.macSize
	}
	s := getScratch()
	defer putScratch(s)
	kc, err := derive(s[:], p, key, usage, 0x99, size)
	if err != nil {
		return nil, fmt.Errorf("enctype %d: %w", etype, err)
	}
	return &ChecksumKey{p: p, kc: newHMACKey(p, kc)}, nil
}

// Checksum is the keyed checksum of data under Kc (the enctype's
// hmac-sha1-96-aes or hmac-sha256-128/sha384-192-aes checksum type).
func (k *ChecksumKey) Checksum(data []byte) []byte {
	sum := make([]byte, k.p.macSize)
	k.kc.sumInto(sum, data, nil)
	return sum
}

// VerifyChecksum reports whether sum is data's checksum under Kc.
func (k *ChecksumKey) VerifyChecksum(data, sum []byte) bool {
	var want [maxHashSize]byte
	k.kc.sumInto(want[:k.p.macSize], data, nil)
	return subtle.ConstantTimeCompare(want[:k.p.macSize], sum) == 1
}

// usageConstant is the 5-byte derivation constant: usage, big-endian, and
// 0xAA (Ke), 0x55 (Ki) or 0x99 (Kc).
func usageConstant(usage uint32, kind byte) [5]byte {
	var c [5]byte
	binary.BigEndian.PutUint32(c[:4], usage)
	c[4] = kind
	return c
}

// dk is RFC 3961's DK for the AES enctypes: DR(base, n-fold(constant))
// with the identity random-to-key. DR encrypts the n-folded constant with
// the base key, then each output block again, until there are size bytes.
// out has room for size bytes and a whole last block; the result is in it.
func dk(out []byte, base cipher.Block, size int, usage uint32, kind byte) []byte {
	out = out[:size+aes.BlockSize]
	if k := kindIndex(kind); usage < foldedUsages && k >= 0 {
		copy(out, folded[usage][k][:])
	} else {
		c := usageConstant(usage, kind)
		nfold(c[:], out[:aes.BlockSize])
	}
	base.Encrypt(out[:aes.BlockSize], out[:aes.BlockSize])
	for n := aes.BlockSize; n < size; n += aes.BlockSize {
		base.Encrypt(out[n:n+aes.BlockSize], out[n-aes.BlockSize:n])
	}
	return out[:size:size]
}

// foldedUsages is how many key usages (0 up) have their n-folded
// constants precomputed in folded: all those RFC 4120 defines.
const foldedUsages = 32

// folded holds n-fold(usage | kind) to one AES block for usage <
// foldedUsages and the three kinds (kindIndex order), which would otherwise
// be recomputed on every derivation.
var folded = func() (t [foldedUsages][3][aes.BlockSize]byte) {
	for u := range t {
		for k, kind := range []byte{0xAA, 0x55, 0x99} {
			c := usageConstant(uint32(u), kind)
			nfold(c[:], t[u][k][:])
		}
	}
	return t
}()

func kindIndex(kind byte) int {
	switch kind {
	case 0xAA:
		return 0
	case 0x55:
		return 1
	case 0x99:
		return 2
	}
	return -1
}

// kdfHMACSHA2 is RFC 8009's KDF-HMAC-SHA2(key, label, k) for one block of
// HMAC output: HMAC(key, 00000001 | label | 00 | k in bits), truncated.
// The result is in out, which has room for it and the 14-byte input.
func kdfHMACSHA2(out []byte, p *profile, key []byte, usage uint32, kind byte, size int) []byte {
	c := usageConstant(usage, kind)
	msg := out[size : size+4+5+1+4]
	binary.BigEndian.PutUint32(msg[:4], 1)
	copy(msg[4:9], c[:])
	msg[9] = 0
	binary.BigEndian.PutUint32(msg[10:], uint32(size*8))
	h := newHMACKey(p, key)
	h.sumInto(out[:size], msg, nil)
	return out[:size:size]
}

// nfold is RFC 3961's n-fold of in to len(out) bytes, byte-wise as in MIT's
// krb5int_nfold: the input, rotated right by 13 bits per copy, is added in
// ones'-complement arithmetic into the output, over lcm(len(in), len(out)).
func nfold(in, out []byte) {
	inLen, outLen := len(in), len(out)
	a, b := outLen, inLen
	for b != 0 {
		a, b = b, a%b
	}
	lcm := outLen * inLen / a
	clear(out)
	carry := 0
	inBits := inLen << 3
	for i := lcm - 1; i >= 0; i-- {
		msbit := ((inBits - 1) + ((inBits + 13) * (i / inLen)) + ((inLen - i%inLen) << 3)) % inBits
		carry += ((int(in[((inLen-1)-(msbit>>3))%inLen])<<8 | int(in[(inLen-(msbit>>3))%inLen])) >> ((msbit & 7) + 1)) & 0xff
		carry += int(out[i%outLen])
		out[i%outLen] = byte(carry)
		carry >>= 8
	}
	for i := outLen - 1; carry != 0 && i >= 0; i-- {
		carry += int(out[i])
		out[i] = byte(carry)
		carry >>= 8
	}
}

// Overhead is how many bytes Encrypt adds to a plaintext.
func (k *Keys) Overhead() int { return confounderSize + k.p.macSize }

// Encrypt seals plain with a fresh random confounder: AES-CTS of
// confounder|plain under Ke, then the truncated HMAC under Ki.
func (k *Keys) Encrypt(plain []byte) ([]byte, error) {
	out := make([]byte, confounderSize+len(plain)+k.p.macSize)
	// Read straight into out: a local array would escape through the
	// io.Reader and cost an allocation.
	if _, err := rand.Read(out[:confounderSize]); err != nil {
		return nil, fmt.Errorf("random confounder: %w", err)
	}
	copy(out[confounderSize:], plain)
	k.sealOut(out)
	return out, nil
}

// seal is Encrypt with a given confounder (tests use the RFC's).
func (k *Keys) seal(conf, plain []byte) []byte {
	out := make([]byte, confounderSize+len(plain)+k.p.macSize)
	copy(out, conf)
	copy(out[confounderSize:], plain)
	k.sealOut(out)
	return out
}

// sealOut encrypts out, which holds confounder|plaintext and room for the
// MAC, in place.
func (k *Keys) sealOut(out []byte) {
	n := len(out) - k.p.macSize
	if !k.p.rfc8009 {
		// RFC 3962: the MAC covers the plaintext, confounder included.
		k.ki.sumInto(out[n:], out[:n], nil)
	}
	ctsEncrypt(k.ke, out[:n])
	if k.p.rfc8009 {
		// RFC 8009: the MAC covers the (all-zero) cipher state and the
		// ciphertext.
		k.ki.sumInto(out[n:], zeroBlock[:], out[:n])
	}
}

// Decrypt verifies and opens a ciphertext made by Encrypt with the same
// base key and usage, returning the plaintext without its confounder.
func (k *Keys) Decrypt(ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < confounderSize+k.p.macSize {
		return nil, ErrShortCiphertext
	}
	n := len(ciphertext) - k.p.macSize
	body, want := ciphertext[:n], ciphertext[n:]
	var sum [maxHashSize]byte
	mac := sum[:k.p.macSize]
	if k.p.rfc8009 {
		// Checked before decrypting: the MAC covers the ciphertext.
		k.ki.sumInto(mac, zeroBlock[:], body)
		if subtle.ConstantTimeCompare(mac, want) != 1 {
			return nil, ErrIntegrity
		}
	}
	plain := make([]byte, n)
	ctsDecrypt(k.ke, plain, body)
	if !k.p.rfc8009 {
		k.ki.sumInto(mac, plain, nil)
		if subtle.ConstantTimeCompare(mac, want) != 1 {
			return nil, ErrIntegrity
		}
	}
	return plain[confounderSize:], nil
}

// ChecksumType is the checksum type (RFC 3961 section 8) that goes with
// an enctype: 15, 16, 19 and 20 for enctypes 17, 18, 19 and 20.
func ChecksumType(etype int32) (int32, bool) {
	switch etype {
	case AES128SHA1:
		return 15, true
	case AES256SHA1:
		return 16, true
	case AES128SHA256:
		return 19, true
	case AES256SHA384:
		return 20, true
	}
	return 0, false
}
