package db

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
)

// Cluster credentials rotation in the replicated state (the node side is
// cmd/kdcha, the certificates the cluster package). Three kinds of
// command:
//
//  1. cluster_ca_add carries a new CA certificate and its key, sealed with
//     the master key like the CA key of set_ca_key, which it replaces:
//     joiners get certificates from the new CA from then on. The CAs to
//     trust become the old one and the new one.
//  2. cluster_ca_ack records a node's progress: first that it trusts both
//     CAs (CATrusts), then, once every member does, that it holds a
//     certificate from the new one (CARenewed). A node presents a new
//     certificate only when every member already trusts it, so no
//     connection fails in between.
//  3. cluster_ca_drop, proposed once every member has renewed, leaves the
//     new CA alone trusted: every node then refuses certificates of the old
//     one, such as those of a stolen node.

const (
	opClusterCAAdd  op = "cluster_ca_add"
	opClusterCAAck  op = "cluster_ca_ack"
	opClusterCADrop op = "cluster_ca_drop"
)

// Stages a node acknowledges during a credentials rotation.
const (
	// CATrusts: the node accepts certificates of both CAs.
	CATrusts = 1
	// CARenewed: the node's own certificate is from the new CA.
	CARenewed = 2
)

// clusterTrust is the replicated credentials rotation state. Values are
// replaced whole, never changed in place.
type clusterTrust struct {
	// Gen counts rotations started.
	Gen uint64 `json:"gen"`
	// CAs are the CA certificates (DER) whose node certificates are
	// trusted; the last one's key is the sealed CA key. Empty until the
	// first rotation: each node's own CA file is the truth then.
	CAs [][]byte `json:"cas,omitempty"`
	// Acks are, during a rotation, the stage each node reached.
	Acks map[string]int `json:"acks,omitempty"`
}

func (t clusterTrust) rotating() bool { return len(t.CAs) > 1 }

// snapshot returns t for a snapshot, nil if it never rotated.
func (t clusterTrust) snapshot() *clusterTrust {
	if t.Gen == 0 {
		return nil
	}
	return &t
}

// validate checks a trust state read from a snapshot.
func (t clusterTrust) validate() error {
	if t.Gen == 0 || len(t.CAs) == 0 || len(t.CAs) > 2 || (len(t.Acks) > 0 && !t.rotating()) {
		return fmt.Errorf("%w: cluster trust state: generation %d, %d CAs, %d acks", ErrInvalid, t.Gen, len(t.CAs), len(t.Acks))
	}
	for _, der := range t.CAs {
		if _, err := parseCA(der); err != nil {
			return err
		}
	}
	for node, s := range t.Acks {
		if node == "" || s < CATrusts || s > CARenewed {
			return fmt.Errorf("%w: cluster trust state: ack %q stage %d", ErrInvalid, node, s)
		}
	}
	return nil
}

// caChange is the payload of the credentials rotation commands.
type caChange struct {
	// Gen is the rotation the command belongs to: the next one (add) or
	// the current one (ack, drop).
	Gen uint64 `json:"gen"`
	// CACert is the new CA certificate, DER (add); its key is the
	// command's CAKey.
	CACert []byte `json:"ca_cert,omitempty"`
	// OldCA is the CA certificate in use, DER (add, on a cluster that
	// never rotated: the state does not hold it yet).
	OldCA []byte `json:"old_ca,omitempty"`
	// Node and Stage are the acknowledgement (ack).
	Node  string `json:"node,omitempty"`
	Stage int    `json:"stage,omitempty"`
}

// applyClusterCA applies a credentials rotation command; f.mu is held.
func (f *fsm) applyClusterCA(c *command) error {
	cc := c.ClusterCA
	if cc == nil {
		return fmt.Errorf("%w: %s without a CA change", ErrInvalid, c.Op)
	}
	var err error
	switch c.Op {
	case opClusterCAAdd:
		err = f.addClusterCA(cc, c.CAKey)
	case opClusterCAAck:
		err = f.ackClusterCA(cc)
	default:
		err = f.dropClusterCA(cc)
	}
	if err == nil {
		f.signalTrust()
	}
	return err
}

func (f *fsm) addClusterCA(cc *caChange, sealed []byte) error {
	t := f.st.trust
	if t.rotating() {
		return fmt.Errorf("%w: a credentials rotation (generation %d) is in progress; finish it first", ErrConflict, t.Gen)
	}
	if cc.Gen != t.Gen+1 {
		return fmt.Errorf("%w: credentials rotation generation %d proposed, the next is %d", ErrConflict, cc.Gen, t.Gen+1)
	}
	ca, err := parseCA(cc.CACert)
	if err != nil {
		return err
	}
	if err := f.checkCAKey(sealed, ca); err != nil {
		return err
	}
	old := t.CAs
	if len(old) == 0 {
		oldCA, err := parseCA(cc.OldCA)
		if err != nil {
			return fmt.Errorf("current CA: %w", err)
		}
		// The CA named as current must be the one whose key the state
		// holds, or a proposer could slip in a CA of its own.
		if f.st.caKey != nil {
			if err := f.checkCAKey(f.st.caKey, oldCA); err != nil {
				return fmt.Errorf("current CA: %w", err)
			}
		}
		old = [][]byte{cc.OldCA}
	}
	if slices.ContainsFunc(old, func(b []byte) bool { return slices.Equal(b, cc.CACert) }) {
		return fmt.Errorf("%w: the new CA is the current one", ErrInvalid)
	}
	f.st.trust = clusterTrust{Gen: cc.Gen, CAs: [][]byte{old[0], cc.CACert}}
	f.st.caKey = sealed
	f.log.Info("cluster credentials rotation started: new CA trusted alongside the old", "generation", cc.Gen)
	return nil
}

func (f *fsm) ackClusterCA(cc *caChange) error {
	t := f.st.trust
	if cc.Node == "" || !t.rotating() || cc.Gen != t.Gen || cc.Stage < CATrusts || cc.Stage > CARenewed {
		return fmt.Errorf("%w: acknowledgement of credentials rotation %d stage %d by %q (current %d, rotating %v)", ErrConflict, cc.Gen, cc.Stage, cc.Node, t.Gen, t.rotating())
	}
	if t.Acks[cc.Node] >= cc.Stage {
		return nil
	}
	acks := maps.Clone(t.Acks)
	if acks == nil {
		acks = map[string]int{}
	}
	acks[cc.Node] = cc.Stage
	f.st.trust = clusterTrust{Gen: t.Gen, CAs: t.CAs, Acks: acks}
	return nil
}

func (f *fsm) dropClusterCA(cc *caChange) error {
	t := f.st.trust
	if cc.Gen != t.Gen || t.Gen == 0 {
		return fmt.Errorf("%w: drop of the old CA of credentials rotation %d (current %d)", ErrConflict, cc.Gen, t.Gen)
	}
	if !t.rotating() {
		return nil // dropped already
	}
	f.st.trust = clusterTrust{Gen: t.Gen, CAs: t.CAs[len(t.CAs)-1:]}
	f.log.Info("cluster credentials rotation finished: the old CA is no longer trusted", "generation", t.Gen)
	return nil
}

// checkCAKey checks that sealed opens, with an active master key version,
// to the private key of ca.
func (f *fsm) checkCAKey(sealed []byte, ca *x509.Certificate) error {
	der, err := f.mk.open(caKeyOwner, 0, 0, sealed)
	if err != nil {
		return fmt.Errorf("cluster CA key: %w", err)
	}
	defer clear(der)
	if v, _ := sealedVersion(sealed); !slices.Contains(f.st.mk.Active, v) {
		return fmt.Errorf("%w: cluster CA key sealed with master key version %d, active are %v", ErrConflict, v, f.st.mk.Active)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return fmt.Errorf("%w: cluster CA key: %w", ErrInvalid, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	pub, okPub := ca.PublicKey.(*ecdsa.PublicKey)
	if !ok || !okPub || !ek.PublicKey.Equal(pub) {
		return fmt.Errorf("%w: cluster CA key does not match the CA certificate", ErrInvalid)
	}
	return nil
}

func parseCA(der []byte) (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: CA certificate: %w", ErrInvalid, err)
	}
	if !c.IsCA {
		return nil, fmt.Errorf("%w: CA certificate is not a CA", ErrInvalid)
	}
	return c, nil
}

func (f *fsm) signalTrust() {
	select {
	case f.trustChanged <- struct{}{}:
	default:
	}
}

// ClusterTrust is the credentials rotation state as this replica has it.
type ClusterTrust struct {
	// Generation counts the rotations started; 0 for a cluster that
	// never rotated (then CAs is empty and each node's CA file is the
	// truth).
	Generation uint64
	// CAs are the CA certificates (DER) to trust; the last one issues
	// certificates. Two while a rotation is in progress.
	CAs [][]byte
	// Acks are the stages (CATrusts, CARenewed) nodes reached during a
	// rotation.
	Acks map[string]int
}

// Rotating reports whether a rotation is in progress (two CAs trusted).
func (t ClusterTrust) Rotating() bool { return len(t.CAs) > 1 }

// ClusterTrust returns the credentials rotation state of this replica.
func (d *DB) ClusterTrust() ClusterTrust {
	d.fsm.mu.Lock()
	defer d.fsm.mu.Unlock()
	t := d.fsm.st.trust
	return ClusterTrust{Generation: t.Gen, CAs: slices.Clone(t.CAs), Acks: maps.Clone(t.Acks)}
}

// ClusterTrustChanged is signalled whenever the credentials rotation state
// may have changed; a node's credentials worker waits on it.
func (d *DB) ClusterTrustChanged() <-chan struct{} { return d.fsm.trustChanged }

// AckClusterTrust records that this node reached stage (CATrusts or
// CARenewed) of rotation gen.
func (d *DB) AckClusterTrust(ctx context.Context, gen uint64, stage int) error {
	_, err := d.propose(ctx, &command{Op: opClusterCAAck, ClusterCA: &caChange{Gen: gen, Node: d.node.id, Stage: stage}})
	return err
}
