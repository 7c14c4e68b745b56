package db_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// Open a single-node database, add a user and a service, and export the
// service's keytab: what `kdcha principal add` and `kdcha keytab export` do.
func Example() {
	dir, err := os.MkdirTemp("", "kdcha-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	d, err := db.Open(db.Options{
		DataDir:         filepath.Join(dir, "data"),
		Realm:           "EXAMPLE.COM",
		CreateIfMissing: true, // creates data/master.key (0600) on first use
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	password := "correct horse battery"
	if _, err := d.Create(ctx, db.CreateRequest{Name: "alice", Password: &password}); err != nil {
		log.Fatal(err)
	}
	svc, err := d.Create(ctx, db.CreateRequest{
		Name:      "zookeeper/zk1.example.com",
		RandomKey: true,
		Aliases:   []string{"zookeeper/10.0.0.5"},
	})
	if err != nil {
		log.Fatal(err)
	}
	if svc, err = d.Rekey(ctx, svc.Name); err != nil {
		log.Fatal(err)
	}
	kt, err := d.Keytab("zookeeper/10.0.0.5")
	if err != nil {
		log.Fatal(err)
	}
	if err := db.WriteSecretFile(filepath.Join(dir, "zk.keytab"), kt); err != nil {
		log.Fatal(err)
	}

	// The KDC side: lookups by name or alias, from memory.
	p, _ := d.Lookup("zookeeper/10.0.0.5@EXAMPLE.COM")
	fmt.Println(p.Name, "kvno", p.KVNO())
	for _, p := range d.List() {
		fmt.Println(p.Name, "preauth:", p.Attributes.RequiresPreauth)
	}
	// Output:
	// zookeeper/zk1.example.com@EXAMPLE.COM kvno 2
	// alice@EXAMPLE.COM preauth: true
	// zookeeper/zk1.example.com@EXAMPLE.COM preauth: false
}
