package cluster

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// A credentials rotation (`kdcha cluster rotate-credentials`) replaces the
// cluster CA and every node's key and certificate while the cluster runs.
// The replicated database carries the CAs to trust and the new CA's key;
// each node then calls Renew (new key, certificate from the new CA, both
// CAs trusted), and once every member has, SetTrusted drops the old CA.
// Connections keep working throughout because each handshake presents
// the node's current certificate and verifies the peer against the CAs
// trusted at that moment.

// renewalFile holds a renewed node key and certificate (PEM, key first)
// until both are in place: the two files cannot be replaced in one step,
// so Load finishes a renewal a crash interrupted.
const renewalFile = "node.renewal"

// ErrStaleCredentials means this node's certificate is from a CA the
// cluster no longer trusts: it was away during a credentials rotation.
var ErrStaleCredentials = errors.New("this node's cluster certificate is from a CA the cluster no longer trusts " +
	"(it missed a credentials rotation): run `kdcha cluster leave` on it (or `kdcha cluster remove` elsewhere), " +
	"wipe its data dir and join it again with a new token")

// NewCA makes a new cluster CA: its certificate (DER) and private key
// (PKCS#8 DER), for a credentials rotation.
func NewCA() (cert, key []byte, err error) {
	k, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	ca, err := newCA(k, time.Now())
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal CA key: %w", err)
	}
	return ca.Raw, der, nil
}

// IssuedBy reports whether this node's certificate was issued by the CA
// certificate caDER.
func (c *Credentials) IssuedBy(caDER []byte) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return bytes.Equal(c.ca.Raw, caDER)
}

// Trusts reports whether the CAs trusted are exactly trusted (DER, in
// order).
func (c *Credentials) Trusts(trusted [][]byte) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.EqualFunc(c.trusted, trusted, func(a *x509.Certificate, b []byte) bool { return bytes.Equal(a.Raw, b) })
}

// Renew gives this node a new key and a certificate signed with caKeyDER
// (PKCS#8), the key of one of the CAs in trusted (DER), and makes trusted
// the CAs it accepts. The files are replaced durably before the change
// takes effect for new handshakes.
func (c *Credentials) Renew(caKeyDER []byte, trusted [][]byte) error {
	cas, err := parseCerts(trusted)
	if err != nil {
		return err
	}
	ca, caKey, err := caKeyFrom(caKeyDER, cas)
	if err != nil {
		return err
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	cert, err := signNode(ca, caKey, c.nodeID, key.Public(), time.Now())
	if err != nil {
		return err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// The bundle first: it still holds the CA of the certificate on disk,
	// so every step leaves a set that Load accepts.
	steps := []struct {
		name string
		data []byte
	}{
		{CACertFile, encodeCerts(cas)},
		{renewalFile, append(slices.Clone(keyPEM), encodeCert(cert)...)},
		{NodeKeyFile, keyPEM},
		{NodeCertFile, encodeCert(cert)},
	}
	for _, s := range steps {
		if err := writePrivateFile(filepath.Join(c.dir, s.name), s.data); err != nil {
			return fmt.Errorf("renew node credentials: %w", err)
		}
	}
	if err := os.Remove(filepath.Join(c.dir, renewalFile)); err != nil {
		return fmt.Errorf("renew node credentials: %w", err)
	}
	c.ca, c.trusted, c.cert, c.key = ca, cas, cert, key
	c.trustGen.Add(1)
	return nil
}

// SetTrusted makes trusted (DER) the CAs this node accepts, on disk and
// for every later handshake; connections already open are checked again
// (memberConn). It refuses a set without the CA of this node's own
// certificate (ErrStaleCredentials).
func (c *Credentials) SetTrusted(trusted [][]byte) error {
	cas, err := parseCerts(trusted)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if issuer(c.cert, cas) == nil {
		return ErrStaleCredentials
	}
	if err := writePrivateFile(filepath.Join(c.dir, CACertFile), encodeCerts(cas)); err != nil {
		return fmt.Errorf("update trusted cluster CAs: %w", err)
	}
	c.trusted = cas
	c.trustGen.Add(1)
	return nil
}

// verifyTrusted checks a peer's certificate against the CAs trusted now.
func (c *Credentials) verifyTrusted(cert *x509.Certificate) error {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:     c.pool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return err
}

// issuer returns the CA among cas that issued cert, or nil.
func issuer(cert *x509.Certificate, cas []*x509.Certificate) *x509.Certificate {
	for _, ca := range cas {
		if verifyNode(cert, ca, time.Now()) == nil {
			return ca
		}
	}
	return nil
}

// finishRenewal completes a renewal a crash interrupted: the renewal file
// holds the new key and certificate, which replace the node's files.
func finishRenewal(dir string) error {
	path := filepath.Join(dir, renewalFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	keyBlk, rest := pem.Decode(b)
	certBlk, _ := pem.Decode(rest)
	if keyBlk == nil || certBlk == nil {
		// Torn before its rename completed cannot happen (atomic write);
		// anything else is not ours to guess about.
		return fmt.Errorf("%s: %w: not a key and a certificate", path, ErrInvalid)
	}
	if err := writePrivateFile(filepath.Join(dir, NodeKeyFile), pem.EncodeToMemory(keyBlk)); err != nil {
		return err
	}
	if err := writePrivateFile(filepath.Join(dir, NodeCertFile), pem.EncodeToMemory(certBlk)); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("finish node credentials renewal: %w", err)
	}
	return nil
}

func parseCerts(ders [][]byte) ([]*x509.Certificate, error) {
	if len(ders) == 0 {
		return nil, fmt.Errorf("%w: no CA certificate", ErrInvalid)
	}
	out := make([]*x509.Certificate, 0, len(ders))
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: CA certificate: %w", ErrInvalid, err)
		}
		if !c.IsCA {
			return nil, fmt.Errorf("%w: CA certificate is not a CA", ErrInvalid)
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeCerts reads the CA certificate file: one or more PEM
// certificates.
func decodeCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM %s block, want CERTIFICATE", blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return out, nil
}

func encodeCerts(cs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range cs {
		out = append(out, encodeCert(c)...)
	}
	return out
}

// CACert returns the certificate (DER) of the CA that issued this node's
// certificate.
func (c *Credentials) CACert() []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ca.Raw
}
