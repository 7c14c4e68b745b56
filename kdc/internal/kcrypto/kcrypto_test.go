package kcrypto

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/common"
	"github.com/jcmturner/gokrb5/v8/types"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 3961 appendix A.1.
func TestNFoldRFC3961Vectors(t *testing.T) {
	for _, v := range []struct {
		bits int
		in   string
		want string
	}{
		{64, "012345", "be072631276b1955"},
		{56, "password", "78a07b6caf85fa"},
		{64, "Rough Consensus, and Running Code", "bb6ed30870b7f0e0"},
		{168, "password", "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"},
		{192, "MASSACHVSETTS INSTITVTE OF TECHNOLOGY", "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b"},
		{168, "Q", "518a54a215a8452a518a54a215a8452a518a54a215"},
		{168, "ba", "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"},
		{64, "kerberos", "6b65726265726f73"},
		{128, "kerberos", "6b65726265726f737b9b5b2b93132b93"},
		{168, "kerberos", "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4"},
		{256, "kerberos", "6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4"},
	} {
		out := make([]byte, v.bits/8)
		nfold([]byte(v.in), out)
		if got := hex.EncodeToString(out); got != v.want {
			t.Errorf("%d-fold(%q) = %s, want %s", v.bits, v.in, got, v.want)
		}
	}
}

// RFC 3962 appendix B: AES-CTS with the key "chicken teriyaki" and a zero IV.
func TestCTSRFC3962Vectors(t *testing.T) {
	block, err := aes.NewCipher([]byte("chicken teriyaki"))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []struct{ plain, cipher string }{
		{"4920776f756c64206c696b652074686520", "c6353568f2bf8cb4d8a580362da7ff7f97"},
		{"4920776f756c64206c696b65207468652047656e6572616c20476175277320", "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5"},
		{"4920776f756c64206c696b65207468652047656e6572616c2047617527732043", "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584"},
		{"4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c", "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5"},
		{"4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c20", "97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8"},
		{"4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c20616e6420776f6e746f6e20736f75702e", "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8"},
	} {
		plain, want := unhex(t, v.plain), unhex(t, v.cipher)
		buf := bytes.Clone(plain)
		ctsEncrypt(block, buf)
		if !bytes.Equal(buf, want) {
			t.Errorf("vector %d: encrypt = %x, want %x", i, buf, want)
		}
		back := make([]byte, len(want))
		ctsDecrypt(block, back, want)
		if !bytes.Equal(back, plain) {
			t.Errorf("vector %d: decrypt = %x, want %x", i, back, plain)
		}
	}
}

// RFC 8009 appendix A: derived keys, checksums and encryptions with the
// RFC's confounders, for key usage 2.
func TestRFC8009Vectors(t *testing.T) {
	type enc struct{ plain, conf, out string }
	for _, v := range []struct {
		etype      int32
		base       string
		kc, ke, ki string
		checksum   string
		encs       []enc
	}{
		{
			etype: AES128SHA256, base: "3705d96080c17728a0e800eab6e0d23c",
			kc: "b31a018a48f54776f403e9a396325dc3", ke: "9b197dd1e8c5609d6e67c3e37c62c72e", ki: "9fda0e56ab2d85e1569a688696c26a6c",
			checksum: "d78367186643d67b411cba9139fc1dee",
			encs: []enc{
				{"", "7e5895eaf2672435bad817f545a37148", "ef85fb890bb8472f4dab20394dca781dad877eda39d50c870c0d5a0a8e48c718"},
				{"000102030405", "7bca285e2fd4130fb55b1a5c83bc5b24", "84d7f30754ed987bab0bf3506beb09cfb55402cef7e6877ce99e247e52d16ed4421dfdf8976c"},
				{"000102030405060708090a0b0c0d0e0f", "56ab21713ff62c0a1457200f6fa9948f", "3517d640f50ddc8ad3628722b3569d2ae07493fa8263254080ea65c1008e8fc295fb4852e7d83e1e7c48c37eebe6b0d3"},
				{"000102030405060708090a0b0c0d0e0f1011121314", "a7a4e29a4728ce10664fb64e49ad3fac", "720f73b18d9859cd6ccb4346115cd336c70f58edc0c4437c5573544c31c813bce1e6d072c186b39a413c2f92ca9b8334a287ffcbfc"},
			},
		},
		{
			etype: AES256SHA384, base: "6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52",
			kc: "ef5718be86cc84963d8bbb5031e9f5c4ba41f28faf69e73d", ke: "56ab22bee63d82d7bc5227f6773f8ea7a5eb1c825160c38312980c442e5c7e49", ki: "69b16514e3cd8e56b82010d5c73012b622c4d00ffc23ed1f",
			checksum: "45ee791567eefca37f4ac1e0222de80d43c3bfa06699672a",
			encs: []enc{
				{"", "f764e9fa15c276478b2c7d0c4e5f58e4", "41f53fa5bfe7026d91faf9be959195a058707273a96a40f0a01960621ac612748b9bbfbe7eb4ce3c"},
				{"000102030405", "b80d3251c1f6471494256ffe712d0b9a", "4ed7b37c2bcac8f74f23c1cf07e62bc7b75fb3f637b9f559c7f664f69eab7b6092237526ea0d1f61cb20d69d10f2"},
				{"000102030405060708090a0b0c0d0e0f", "53bf8a0d105265d4e276428624ce5e63", "bc47ffec7998eb91e8115cf8d19dac4bbbe2e163e87dd37f49beca92027764f68cf51f14d798c2273f35df574d1f932e40c4ff255b36a266"},
				{"000102030405060708090a0b0c0d0e0f1011121314", "763e65367e864f02f55153c7e3b58af1", "40013e2df58e8751957d2878bcd2d6fe101ccfd556cb1eae79db3c3ee86429f2b2a602ac86fef6ecb647d6295fae077a1feb517508d2c16b4192e01f62"},
			},
		},
	} {
		p, _ := profileOf(v.etype)
		base := unhex(t, v.base)
		if got := hex.EncodeToString(kdfHMACSHA2(make([]byte, scratchSize), p, base, 2, 0x99, p.macSize)); got != v.kc {
			t.Errorf("etype %d Kc = %s, want %s", v.etype, got, v.kc)
		}
		if got := hex.EncodeToString(kdfHMACSHA2(make([]byte, scratchSize), p, base, 2, 0xAA, p.keySize)); got != v.ke {
			t.Errorf("etype %d Ke = %s, want %s", v.etype, got, v.ke)
		}
		if got := hex.EncodeToString(kdfHMACSHA2(make([]byte, scratchSize), p, base, 2, 0x55, p.macSize)); got != v.ki {
			t.Errorf("etype %d Ki = %s, want %s", v.etype, got, v.ki)
		}
		k, err := Derive(v.etype, base, 2)
		if err != nil {
			t.Fatal(err)
		}
		ck, err := DeriveChecksumKey(v.etype, base, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(ck.Checksum(unhex(t, "000102030405060708090a0b0c0d0e0f1011121314"))); got != v.checksum {
			t.Errorf("etype %d checksum = %s, want %s", v.etype, got, v.checksum)
		}
		for i, e := range v.encs {
			plain := unhex(t, e.plain)
			out := k.seal(unhex(t, e.conf), plain)
			if got := hex.EncodeToString(out); got != e.out {
				t.Errorf("etype %d encryption %d = %s, want %s", v.etype, i, got, e.out)
			}
			back, err := k.Decrypt(out)
			if err != nil || !bytes.Equal(back, plain) {
				t.Errorf("etype %d decryption %d = %x, %v; want %x", v.etype, i, back, err, plain)
			}
		}
	}
}

var allETypes = []int32{AES128SHA1, AES256SHA1, AES128SHA256, AES256SHA384}

// TestMatchesGokrb5 checks derivation, encryption, decryption and
// checksums bit for bit against gokrb5 on random keys, usages and message
// lengths (every length around the block boundaries).
func TestMatchesGokrb5(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, etype := range allETypes {
		et, err := crypto.GetEtype(etype)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := profileOf(etype)
		for n := 0; n < 70; n++ {
			key := make([]byte, p.keySize)
			for i := range key {
				key[i] = byte(rng.Uint32())
			}
			usage := uint32(1 + rng.IntN(60)) // both sides of foldedUsages; gokrb5 skips derivation for usage 0
			plain := make([]byte, n)
			for i := range plain {
				plain[i] = byte(rng.Uint32())
			}
			k, err := Derive(etype, key, usage)
			if err != nil {
				t.Fatal(err)
			}
			ck, err := DeriveChecksumKey(etype, key, usage)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []struct {
				kind byte
				h    *hmacKey
			}{{0x55, &k.ki}, {0x99, &ck.kc}} {
				want, err := et.DeriveKey(key, usageConstantSlice(usage, d.kind))
				if err != nil {
					t.Fatal(err)
				}
				if got := padKey(d.h, len(want)); !bytes.Equal(got, want) {
					t.Fatalf("etype %d usage %d kind %#x: derived %x, gokrb5 %x", etype, usage, d.kind, got, want)
				}
			}
			ours, err := k.Encrypt(plain)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := et.DecryptMessage(key, ours, usage)
			if err != nil || !bytes.Equal(theirs, plain) {
				t.Fatalf("etype %d len %d: gokrb5 cannot open ours: %v", etype, n, err)
			}
			ed, err := crypto.GetEncryptedData(plain, types.EncryptionKey{KeyType: etype, KeyValue: key}, usage, 0)
			if err != nil {
				t.Fatal(err)
			}
			back, err := k.Decrypt(ed.Cipher)
			if err != nil || !bytes.Equal(back, plain) {
				t.Fatalf("etype %d len %d: cannot open gokrb5's: %v", etype, n, err)
			}
			sum, err := et.GetChecksumHash(key, plain, usage)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ck.Checksum(plain), sum) || !ck.VerifyChecksum(plain, sum) {
				t.Fatalf("etype %d len %d: checksum %x, gokrb5 %x", etype, n, ck.Checksum(plain), sum)
			}
		}
	}
}

// padKey recovers the first n bytes of h's key from its inner pad, or
// nil when the pad holds a longer key.
func padKey(h *hmacKey, n int) []byte {
	key := make([]byte, n)
	for i, c := range h.ipad {
		switch {
		case i < n:
			key[i] = c ^ 0x36
		case c != 0x36:
			return nil
		}
	}
	return key
}

// TestNoAllocs holds the per-call allocations of warm keys to the output
// buffer alone: HMAC states are pooled and CTS works in place.
func TestNoAllocs(t *testing.T) {
	for _, etype := range allETypes {
		p, _ := profileOf(etype)
		key := make([]byte, p.keySize)
		k, err := Derive(etype, key, 3)
		if err != nil {
			t.Fatal(err)
		}
		ck, err := DeriveChecksumKey(etype, key, 6)
		if err != nil {
			t.Fatal(err)
		}
		plain := make([]byte, 200)
		ct, _ := k.Encrypt(plain)
		sum := ck.Checksum(plain)
		if n := testing.AllocsPerRun(100, func() { k.Encrypt(plain) }); n >= 2 {
			t.Errorf("etype %d: Encrypt allocates %.1f times, want 1 (the ciphertext)", etype, n)
		}
		if n := testing.AllocsPerRun(100, func() { k.Decrypt(ct) }); n >= 2 {
			t.Errorf("etype %d: Decrypt allocates %.1f times, want 1 (the plaintext)", etype, n)
		}
		if n := testing.AllocsPerRun(100, func() { ck.VerifyChecksum(plain, sum) }); n >= 1 {
			t.Errorf("etype %d: VerifyChecksum allocates %.1f times, want 0", etype, n)
		}
	}
}

func usageConstantSlice(usage uint32, kind byte) []byte {
	switch kind {
	case 0x55:
		return common.GetUsageKi(usage)
	case 0x99:
		return common.GetUsageKc(usage)
	}
	return common.GetUsageKe(usage)
}

func TestDecryptRejects(t *testing.T) {
	for _, etype := range allETypes {
		p, _ := profileOf(etype)
		k, err := Derive(etype, make([]byte, p.keySize), 3)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := k.Encrypt([]byte("some plaintext"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range ct {
			bad := bytes.Clone(ct)
			bad[i] ^= 1
			if _, err := k.Decrypt(bad); !errors.Is(err, ErrIntegrity) {
				t.Fatalf("etype %d: flipped byte %d: err %v, want ErrIntegrity", etype, i, err)
			}
		}
		other, _ := Derive(etype, make([]byte, p.keySize), 4)
		if _, err := other.Decrypt(ct); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("etype %d: other usage: err %v, want ErrIntegrity", etype, err)
		}
		for n := 0; n < k.Overhead(); n++ {
			if _, err := k.Decrypt(ct[:n]); !errors.Is(err, ErrShortCiphertext) {
				t.Fatalf("etype %d: %d bytes: err %v, want ErrShortCiphertext", etype, n, err)
			}
		}
	}
	if _, err := Derive(AES256SHA1, make([]byte, 16), 1); err == nil {
		t.Fatal("Derive accepted a 16-byte key for enctype 18")
	}
	if _, err := Derive(23, make([]byte, 16), 1); err == nil {
		t.Fatal("Derive accepted RC4")
	}
}

func TestCacheBoundAndKeyChange(t *testing.T) {
	c := NewCache(4)
	key := make([]byte, 32)
	a, err := c.Get(AES256SHA1, key, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.Get(AES256SHA1, key, 2); b != a {
		t.Fatal("second Get derived again")
	}
	// A changed key (rekey) must not be served the old key's derivation.
	key2 := bytes.Clone(key)
	key2[31] = 1
	b, err := c.Get(AES256SHA1, key2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b == a || b.ki.ipad == a.ki.ipad {
		t.Fatal("changed key got the old key's derived keys")
	}
	for u := uint32(10); u < 20; u++ {
		if _, err := c.Get(AES256SHA1, key, u); err != nil {
			t.Fatal(err)
		}
		if n := c.Len(); n > 4 {
			t.Fatalf("cache holds %d entries, bound 4", n)
		}
	}
	if _, err := c.Get(AES256SHA1, make([]byte, 40), 2); err == nil {
		t.Fatal("Get accepted a 40-byte key")
	}
}

func BenchmarkDeriveAES256SHA1(b *testing.B) {
	key := make([]byte, 32)
	for b.Loop() {
		if _, err := Derive(AES256SHA1, key, 2); err != nil {
			b.Fatal(err)
		}
	}
}
