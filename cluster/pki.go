package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"
)

// ServerName is the DNS name every node certificate carries and every
// cluster TLS client verifies. Peers are dialed by IP; a fixed name lets the
// CA, not the address, say who is a member.
const ServerName = "kdcha-cluster"

const (
	// The CA outlives any realistic deployment because there is no CA
	// rotation yet; node certificates likewise (renewal is future work).
	caValidity   = 20 * 365 * 24 * time.Hour
	nodeValidity = 10 * 365 * 24 * time.Hour
	// backdate tolerates clocks that are slightly behind the signer's.
	backdate = time.Hour
)

var nodeIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// validNodeID keeps node IDs usable as a certificate CN, a Raft server ID
// and a log field without quoting.
func validNodeID(id string) error {
	if !nodeIDRe.MatchString(id) {
		return fmt.Errorf("%w: node ID %q: want 1-63 characters of letters, digits, '.', '_' or '-'", ErrInvalid, id)
	}
	return nil
}

func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate P-256 key: %w", err)
	}
	return k, nil
}

func serialNumber() (*big.Int, error) {
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	return sn, nil
}

// newCA self-signs the cluster CA. MaxPathLen 0: it signs node
// certificates only, never intermediate CAs.
func newCA(key *ecdsa.PrivateKey, now time.Time) (*x509.Certificate, error) {
	sn, err := serialNumber()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "kdcha cluster CA", Organization: []string{"kdcha"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// signNode issues a node certificate for pub: the node ID in the CN and
// ServerName as the only SAN, good for both ends of a mutual TLS
// connection.
func signNode(ca *x509.Certificate, caKey *ecdsa.PrivateKey, nodeID string, pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	if err := validNodeID(nodeID); err != nil {
		return nil, err
	}
	if err := checkSigningKey(pub); err != nil {
		return nil, err
	}
	sn, err := serialNumber()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(nodeValidity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: nodeID, Organization: []string{"kdcha"}},
		DNSNames:     []string{ServerName},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return nil, fmt.Errorf("sign certificate for node %s: %w", nodeID, err)
	}
	return x509.ParseCertificate(der)
}

// checkSigningKey accepts the only kind of node key there is: ECDSA P-256.
func checkSigningKey(pub crypto.PublicKey) error {
	if k, ok := pub.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		return fmt.Errorf("%w: node key must be ECDSA P-256, got %T", ErrInvalid, pub)
	}
	return nil
}

// newCSR is the joiner's certificate request: it proves possession of key.
func newCSR(key *ecdsa.PrivateKey, nodeID string) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: nodeID},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate request: %w", err)
	}
	return der, nil
}

// parseCSR checks the request's self-signature, so that a certificate is
// only ever issued to the holder of the private key.
func parseCSR(der []byte) (*x509.CertificateRequest, error) {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate request: %w", ErrInvalid, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: certificate request signature: %w", ErrInvalid, err)
	}
	return csr, nil
}

// verifyNode checks that cert was issued by ca for cluster use.
func verifyNode(cert, ca *x509.Certificate, now time.Time) error {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	_, err := cert.Verify(x509.VerifyOptions{
		DNSName:     ServerName,
		Roots:       pool,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("node certificate %q not valid for this cluster CA: %w", cert.Subject.CommonName, err)
	}
	return nil
}

// sameKey reports whether priv is the private half of pub.
func sameKey(priv *ecdsa.PrivateKey, pub crypto.PublicKey) bool {
	p, ok := pub.(*ecdsa.PublicKey)
	return ok && priv.PublicKey.Equal(p)
}

// fingerprint is the lowercase hex SHA-256 of a certificate's DER bytes.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func encodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func encodeKey(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func decodeCert(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func decodeKey(b []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM PRIVATE KEY block")
	}
	return parseKeyDER(blk.Bytes)
}

func parseKeyDER(der []byte) (*ecdsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, want ECDSA", k)
	}
	return ek, nil
}
