package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Credential files inside the credentials directory, each 0600.
const (
	CACertFile = "ca.crt" // cluster CA certificate (PEM)
	// CAKeyFile is the cluster CA private key (PKCS#8 PEM). It exists only
	// between CreateCluster and the node runtime moving the key into the
	// replicated database (and in data dirs of older versions, which the
	// runtime migrates the same way); joined nodes never get it.
	CAKeyFile = "ca.key"

	NodeCertFile = "node.crt" // this node's certificate (PEM)
	NodeKeyFile  = "node.key" // this node's private key (PKCS#8 PEM)
)

// Credentials are a node's cluster identity: the CA certificates it
// trusts and this node's certificate and key. A credentials rotation
// (rotate.go) replaces them while the node runs; every handshake reads
// the current ones, so a change applies to the next connection.
type Credentials struct {
	dir    string
	nodeID string

	mu sync.RWMutex
	// ca issued cert; trusted are the CAs whose node certificates are
	// accepted (ca among them; two only during a rotation). CACertFile
	// holds them all.
	ca      *x509.Certificate
	trusted []*x509.Certificate
	caKey   *ecdsa.PrivateKey // nil unless CAKeyFile is present
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	// trustGen counts changes of trusted, so that connections verified
	// earlier know to check their peer again (memberConn).
	trustGen atomic.Uint64
}

// CreateCluster makes a new cluster CA and a certificate for nodeID, signed
// by it, and writes them into dir (created 0700 if missing). It is the
// `kdcha cluster init` step; existing credentials are never overwritten
// (ErrCredentialsExist).
func CreateCluster(dir, nodeID string) (*Credentials, error) {
	if err := validNodeID(nodeID); err != nil {
		return nil, err
	}
	if err := checkNoCredentials(dir); err != nil {
		return nil, err
	}
	now := time.Now()
	caKey, err := newKey()
	if err != nil {
		return nil, err
	}
	ca, err := newCA(caKey, now)
	if err != nil {
		return nil, err
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	cert, err := signNode(ca, caKey, nodeID, key.Public(), now)
	if err != nil {
		return nil, err
	}
	c := &Credentials{dir: dir, nodeID: nodeID, ca: ca, trusted: []*x509.Certificate{ca}, caKey: caKey, cert: cert, key: key}
	if err := c.save(); err != nil {
		return nil, fmt.Errorf("create cluster credentials in %s: %w", dir, err)
	}
	return c, nil
}

// Load reads the credentials in dir and checks that they belong together:
// the node certificate chains to the CA and each key matches its
// certificate. A directory without them yields ErrNoCredentials. The CA
// key file is optional (see CAKeyFile).
func Load(dir string) (*Credentials, error) {
	if err := finishRenewal(dir); err != nil {
		return nil, err
	}
	var pems [4][]byte
	for i, name := range []string{CACertFile, CAKeyFile, NodeCertFile, NodeKeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) && name == CAKeyFile {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s: %s missing", ErrNoCredentials, dir, name)
		}
		if err != nil {
			return nil, fmt.Errorf("read cluster credentials: %w", err)
		}
		pems[i] = b
	}
	c := &Credentials{dir: dir}
	var err error
	if c.trusted, err = decodeCerts(pems[0]); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CACertFile), err)
	}
	if pems[1] != nil {
		if c.caKey, err = decodeKey(pems[1]); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CAKeyFile), err)
		}
	}
	if c.cert, err = decodeCert(pems[2]); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, NodeCertFile), err)
	}
	if c.key, err = decodeKey(pems[3]); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, NodeKeyFile), err)
	}
	c.nodeID = c.cert.Subject.CommonName
	c.ca = issuer(c.cert, c.trusted)
	if err := c.check(time.Now()); err != nil {
		return nil, fmt.Errorf("cluster credentials in %s: %w", dir, err)
	}
	return c, nil
}

// check verifies that the four parts belong together.
func (c *Credentials) check(now time.Time) error {
	if c.ca == nil {
		return verifyNode(c.cert, c.trusted[0], now)
	}
	for _, ca := range c.trusted {
		if !ca.IsCA {
			return errors.New("CA certificate is not a CA")
		}
	}
	if c.caKey != nil && !slices.ContainsFunc(c.trusted, func(ca *x509.Certificate) bool { return sameKey(c.caKey, ca.PublicKey) }) {
		return errors.New("CA key does not match the CA certificate")
	}
	if !sameKey(c.key, c.cert.PublicKey) {
		return errors.New("node key does not match the node certificate")
	}
	return verifyNode(c.cert, c.ca, now)
}

// save writes the files (the CA key only if c has it). The CA key is
// written first and the node certificate last, so that a crash in between
// leaves an incomplete set that Load refuses rather than a mismatched one.
func (c *Credentials) save() error {
	if err := os.MkdirAll(c.dir, dirPerm); err != nil {
		return fmt.Errorf("create credentials directory: %w", err)
	}
	type file struct {
		name string
		data []byte
	}
	var files []file
	if c.caKey != nil {
		caKey, err := encodeKey(c.caKey)
		if err != nil {
			return err
		}
		files = append(files, file{CAKeyFile, caKey})
	}
	key, err := encodeKey(c.key)
	if err != nil {
		return err
	}
	files = append(files, file{CACertFile, encodeCerts(c.trusted)}, file{NodeKeyFile, key}, file{NodeCertFile, encodeCert(c.cert)})
	for _, f := range files {
		if err := writePrivateFile(filepath.Join(c.dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// checkNoCredentials refuses a directory that already holds any
// credential file.
func checkNoCredentials(dir string) error {
	for _, name := range []string{CACertFile, CAKeyFile, NodeCertFile, NodeKeyFile} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%w: %s", ErrCredentialsExist, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("inspect %s: %w", p, err)
		}
	}
	return nil
}

// NodeID is this node's ID, the CN of its certificate.
func (c *Credentials) NodeID() string { return c.nodeID }

// Dir is the directory the credentials (and join tokens) live in.
func (c *Credentials) Dir() string { return c.dir }

// Fingerprint is the lowercase hex SHA-256 of the DER bytes of the CA
// that issued this node's certificate, the value join tokens pin.
func (c *Credentials) Fingerprint() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return fingerprint(c.ca.Raw)
}

// CAKey returns the CA key found in the credentials directory (PKCS#8
// DER), for the node runtime to move into the replicated database; nil if
// there is none.
func (c *Credentials) CAKey() ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.caKey == nil {
		return nil, nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.caKey)
	if err != nil {
		return nil, fmt.Errorf("marshal CA key: %w", err)
	}
	return der, nil
}

// ForgetCAKey deletes the CA key file, once the key is safe in the
// replicated database, and drops the key from c.
func (c *Credentials) ForgetCAKey() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.Remove(filepath.Join(c.dir, CAKeyFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the CA key file: %w", err)
	}
	c.caKey = nil
	return nil
}

// CheckCAKey reports whether der (PKCS#8) is the private key of a CA this
// node trusts.
func (c *Credentials) CheckCAKey(der []byte) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, _, err := caKeyFrom(der, c.trusted)
	return err
}

// caKeyFrom finds the CA among trusted whose private key der (PKCS#8) is.
func caKeyFrom(der []byte, trusted []*x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	k, err := parseKeyDER(der)
	if err != nil {
		return nil, nil, fmt.Errorf("CA key: %w", err)
	}
	for _, ca := range trusted {
		if sameKey(k, ca.PublicKey) {
			return ca, k, nil
		}
	}
	return nil, nil, errors.New("CA key does not match a CA certificate of this cluster")
}

// signWith issues a node certificate with the CA key caKeyDER (PKCS#8),
// which must be one of this cluster's, and returns it with its CA.
func (c *Credentials) signWith(caKeyDER []byte, nodeID string, pub crypto.PublicKey, now time.Time) (cert, ca *x509.Certificate, err error) {
	c.mu.RLock()
	ca, k, err := caKeyFrom(caKeyDER, c.trusted)
	c.mu.RUnlock()
	if err != nil {
		return nil, nil, err
	}
	cert, err = signNode(ca, k, nodeID, pub, now)
	return cert, ca, err
}
