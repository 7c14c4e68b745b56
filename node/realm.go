package node

import (
	"fmt"
	"os"

	"github.com/kdcha/kdcha/cluster"
	"github.com/kdcha/kdcha/kdc/db"
)

// RealmPrincipals are created with every new realm: the TGS, the
// principal of the agents' own health probe (which exercises preauth) and
// the password-change service's.
func RealmPrincipals(realm string) []db.CreateRequest {
	return []db.CreateRequest{
		{Name: "krbtgt/" + realm, RandomKey: true},
		{Name: ProbePrincipal, RandomKey: true, Attributes: &db.Attributes{RequiresPreauth: true}},
		changePWRequest,
	}
}

// EnsureCredentials creates the cluster CA and this node's certificate for
// a new cluster (init, restore), reusing ones a failed earlier attempt left.
// A node that joined another cluster must not found a new one with them.
func EnsureCredentials(cfg *Config) error {
	if !cfg.Clustered() {
		return nil
	}
	if _, err := os.Stat(cfg.SeedFile()); err == nil {
		return fmt.Errorf("this node joined a cluster (%s exists): it cannot start a new one; use an empty data_dir", cfg.SeedFile())
	}
	if _, err := cluster.Load(cfg.CredentialsDir()); err == nil {
		return nil
	}
	_, err := cluster.CreateCluster(cfg.CredentialsDir(), cfg.Node.Name)
	return err
}
