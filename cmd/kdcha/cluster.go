package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/cluster"
	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/mitdump"
	"github.com/kdcha/kdcha/node"
)

func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Create, join, inspect and back up the cluster of KDC nodes"}
	cmd.AddCommand(clusterInit(), clusterToken(), clusterJoin(), clusterLeave(), clusterRemove(), clusterStatus(), clusterBackup(), clusterRestore(), clusterRotateCredentials())
	return cmd
}

// configFlag adds the usual --config flag.
func configFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVarP(path, "config", "c", "/etc/kdcha/kdcha.yaml", "configuration file")
}

func clusterInit() *cobra.Command {
	var path, mitDump string
	var mitKeys mitKeyFlags
	cmd := &cobra.Command{
		Use:   "init --config FILE",
		Short: "Create the realm on the first node: master key, cluster credentials, database, krbtgt",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := node.LoadConfig(path)
			if err != nil {
				return err
			}
			var mitReq db.ImportRequest
			var mitRep mitdump.Report
			if mitDump != "" {
				// Checked before the realm exists, so a bad dump leaves nothing.
				if mitReq, mitRep, err = mitKeys.load(mitDump); err != nil {
					return err
				}
				mitReq.Overwrite = true // the fresh realm's krbtgt gives way to MIT's
			}
			if err := node.EnsureCredentials(cfg); err != nil {
				return err
			}
			m, err := node.OpenMember(cfg, quietLogger(), node.InitRealm, nil)
			if err != nil {
				return err
			}
			defer m.Close()
			for _, req := range node.RealmPrincipals(cfg.Realm) {
				if _, err := m.DB().Create(cmd.Context(), req); err != nil {
					return fmt.Errorf("create %s: %w", req.Name, err)
				}
			}
			if err := m.MoveCAKey(cmd.Context()); err != nil {
				return err
			}
			if mitDump != "" {
				res, err := m.DB().Import(cmd.Context(), mitReq)
				if err != nil {
					return fmt.Errorf("import %s: %w", mitDump, err)
				}
				printImport(cmd.OutOrStdout(), res, mitRep)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "realm %s created in %s\nstart the node with: kdcha agent --config %s\n", cfg.Realm, cfg.Node.DataDir, path)
			if cfg.Clustered() {
				fmt.Fprintf(cmd.OutOrStdout(), "add nodes with: kdcha cluster token --config %s > token, then on the new node: kdcha cluster join %s --token-file token --config FILE\n", path, cfg.Cluster.WithDefaults().Advertise)
			}
			return nil
		},
	}
	configFlag(cmd, &path)
	cmd.Flags().StringVar(&mitDump, "import-mit-dump", "", "start the realm from an MIT `kdb5_util dump` (see `kdcha import mit-dump`)")
	mitKeys.add(cmd)
	return cmd
}

func clusterToken() *cobra.Command {
	var (
		path string
		ttl  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "token [--config FILE] [--ttl DURATION]",
		Short: "Print a single-use join token for a new node, valid on every member for --ttl",
		Long: `Asks the running agent (the one whose admin socket --config names, or
--admin-socket) for a join token. The token is valid once, for --ttl, when
presented to any member; the cluster stores only its hash.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cluster.CheckTokenTTL(ttl); err != nil {
				return fmt.Errorf("--ttl: %w", err)
			}
			client := adminClient(cmd)
			if cmd.Flags().Changed("config") {
				cfg, err := node.LoadConfig(path)
				if err != nil {
					return err
				}
				if !cfg.Clustered() {
					return errors.New("cluster.listen is not set in the config: this node is not part of a cluster")
				}
				client = admin.NewClient(cfg.Node.AdminSocket)
			}
			tok, err := client.JoinToken(cmd.Context(), ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	configFlag(cmd, &path)
	cmd.Flags().DurationVar(&ttl, "ttl", cluster.DefaultTokenTTL, "how long the token is valid (positive)")
	return cmd
}

func clusterJoin() *cobra.Command {
	var path, token, tokenFile string
	cmd := &cobra.Command{
		Use:   "join ADDRESS --token-file FILE|--token - --config FILE",
		Short: "Join the cluster a member at ADDRESS (its cluster address) belongs to",
		Long: `Verifies the member against the CA fingerprint in the token, proves the token,
receives this node's certificate, the realm and the master key over TLS, and
writes them under data_dir. Then start the agent: it adds itself to the
cluster and catches up from a snapshot.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := node.LoadConfig(path)
			if err != nil {
				return err
			}
			if !cfg.Clustered() {
				return errors.New("cluster.listen is not set in the config: set this node's cluster address first")
			}
			switch {
			case token != "" && tokenFile != "":
				return errors.New("give the join token with either --token-file or --token, not both")
			case token == "-":
				tokenFile = "-"
			}
			if tokenFile != "" {
				if token, err = readSecretLine(cmd, tokenFile, "token file"); err != nil {
					return err
				}
			}
			if token == "" {
				return errors.New("give the join token with --token-file FILE or --token - (stdin), from `kdcha cluster token` on a member")
			}
			if ok, err := db.Initialized(cfg.DBDir()); err != nil || ok {
				return fmt.Errorf("%s already holds a database: a node joins with an empty data_dir", cfg.Node.DataDir)
			}
			if _, err := os.Stat(cfg.MasterKeyPath()); err == nil {
				return fmt.Errorf("master key %s already exists: a node joins with an empty data_dir", cfg.MasterKeyPath())
			}
			ccfg := cfg.Cluster.WithDefaults()
			_, adm, err := cluster.JoinCluster(cmd.Context(), args[0], token, cfg.Node.Name, ccfg.Advertise, cfg.CredentialsDir(), ccfg.RequestTimeout)
			if err != nil {
				return fmt.Errorf("join %s: %w", args[0], err)
			}
			if adm.Realm != cfg.Realm {
				return fmt.Errorf("the cluster at %s serves realm %s, the config says %s", args[0], adm.Realm, cfg.Realm)
			}
			if err := os.MkdirAll(filepath.Dir(cfg.MasterKeyPath()), 0o700); err != nil {
				return err
			}
			if err := db.WriteSecretFile(cfg.MasterKeyPath(), adm.MasterKey); err != nil {
				return fmt.Errorf("write master key: %w", err)
			}
			if err := db.WriteSecretFile(cfg.SeedFile(), []byte(args[0]+"\n")); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "joined realm %s through %s; start the node with: kdcha agent --config %s\n", adm.Realm, args[0], path)
			return nil
		},
	}
	configFlag(cmd, &path)
	cmd.Flags().StringVar(&token, "token", "", "join token from `kdcha cluster token` on a member; - reads it from stdin (an argument shows in `ps`)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the join token from the first line of this file (- for stdin)")
	return cmd
}

func clusterLeave() *cobra.Command {
	return &cobra.Command{
		Use:   "leave",
		Short: "Remove the local node from the cluster (then stop its agent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := adminClient(cmd).Leave(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "this node left the cluster; stop its agent and wipe its data_dir before it joins again")
			return nil
		},
	}
}

func clusterRemove() *cobra.Command {
	return &cobra.Command{
		Use:   "remove NODE",
		Short: "Remove another node (for example a dead one) from the cluster",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := adminClient(cmd).Remove(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s removed from the cluster; wipe its data_dir before it joins again\n", args[0])
			return nil
		},
	}
}

func clusterStatus() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show members, leader, term, commit/applied index and each member's lag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var v admin.ClusterStatus
			if err := adminClient(cmd).ClusterStatus(cmd.Context(), &v); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), v)
			}
			printClusterView(cmd.OutOrStdout(), v)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func clusterBackup() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "backup -o FILE",
		Short: "Write a consistent backup of the database (keys stay sealed: keep the master key stash too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("give the backup file with -o FILE")
			}
			if _, err := os.Lstat(out); err == nil {
				return fmt.Errorf("%s already exists; not overwriting it", out)
			}
			b, err := adminClient(cmd).Backup(cmd.Context())
			if err != nil {
				return err
			}
			if err := db.WriteSecretFile(out, b); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes)\n", out, len(b))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "backup file to create (must not exist)")
	addConsistentFlag(cmd)
	return cmd
}

func clusterRestore() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "restore BACKUP --config FILE",
		Short: "Create a new cluster (its first node) from a backup; needs the realm's master key stash at its configured path",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := node.LoadConfig(path)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := os.Stat(cfg.MasterKeyPath()); err != nil {
				return fmt.Errorf("restore needs the realm's master key stash at %s (copy it from a node of the old cluster): %w", cfg.MasterKeyPath(), err)
			}
			if err := node.EnsureCredentials(cfg); err != nil {
				return err
			}
			m, err := node.OpenMember(cfg, quietLogger(), node.RestoreRealm, f)
			if err != nil {
				return err
			}
			n := len(m.DB().List())
			if err := m.MoveCAKey(cmd.Context()); err != nil {
				m.Close()
				return err
			}
			if err := m.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %d principals of realm %s into %s; start the node with: kdcha agent --config %s\n", n, cfg.Realm, cfg.Node.DataDir, path)
			return nil
		},
	}
	configFlag(cmd, &path)
	return cmd
}

// quietLogger is for one-shot commands: errors only (a one-node Raft's
// "starting election" warning at every init is noise there).
func quietLogger() *slog.Logger { return node.NewLogger(slog.LevelError) }

func clusterRotateCredentials() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-credentials",
		Short: "Replace the cluster CA and every node's key and certificate, live; then stop trusting the old CA",
		Long: `Makes a new cluster CA (its key sealed in the replicated database like the old
one's). Every node first trusts both CAs, then, once all members do, makes a
new key with a certificate from the new CA and switches to it without dropping
connections. Once every member has, the old CA is no longer trusted anywhere:
certificates and keys copied from a node before the rotation (a stolen node)
are refused. Join tokens issued before the rotation stop working.
A member that is down keeps the old CA trusted and the command fails naming
it: start it (or remove it) and run the command again, it resumes. A node
that missed a whole rotation is refused by the others; run 'kdcha cluster
remove NODE' on a member, wipe that node's data_dir and join it again with a
new token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := adminClient(cmd).RotateCredentials(cmd.Context())
			if err != nil {
				return err
			}
			verb := "rotated"
			if !rep.Started {
				verb = "rotation resumed and finished"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster credentials %s (generation %d): %s hold certificates of the new CA; the old CA is no longer trusted\n",
				verb, rep.Generation, strings.Join(rep.Members, ", "))
			return nil
		},
	}
}
