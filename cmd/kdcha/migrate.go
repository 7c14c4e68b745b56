package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/mitdump"
)

// mitKeyFlags are the two ways to give the MIT master key.
type mitKeyFlags struct{ stash, passwordFile string }

func (f *mitKeyFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.stash, "stash", "", "MIT master key stash file (key_stash_file of the MIT realm)")
	cmd.Flags().StringVar(&f.passwordFile, "master-password-file", "", "file holding the MIT master password (first line)")
}

// masterKey loads the MIT master key; km is the dump's K/M record (nil on
// export, where a password is derived with K/M's default salt and
// aes256-cts-hmac-sha1-96, MIT's default master key type).
func (f *mitKeyFlags) masterKey(km *mitdump.Principal, realm string) (mitdump.MasterKey, error) {
	switch {
	case (f.stash == "") == (f.passwordFile == ""):
		return mitdump.MasterKey{}, errors.New("give exactly one of --stash and --master-password-file")
	case f.stash != "":
		b, err := os.ReadFile(f.stash)
		if err != nil {
			return mitdump.MasterKey{}, err
		}
		return mitdump.ReadStash(b)
	}
	b, err := os.ReadFile(f.passwordFile)
	if err != nil {
		return mitdump.MasterKey{}, err
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	if km == nil {
		return mitdump.DefaultMasterKeyFromPassword(pw, realm)
	}
	return mitdump.MasterKeyFromPassword(pw, km)
}

// load reads, checks and decrypts an MIT dump into an import request; a
// malformed dump or a wrong master key fails here, before anything is
// sent.
func (f *mitKeyFlags) load(path string) (db.ImportRequest, mitdump.Report, error) {
	file, err := os.Open(path)
	if err != nil {
		return db.ImportRequest{}, mitdump.Report{}, err
	}
	defer file.Close()
	d, err := mitdump.Parse(file)
	if err != nil {
		return db.ImportRequest{}, mitdump.Report{}, fmt.Errorf("%s: %w (nothing imported)", path, err)
	}
	realm := ""
	for _, p := range d.Principals {
		if r, ok := strings.CutPrefix(p.Name, "K/M@"); ok {
			realm = r
		}
	}
	km, err := mitdump.FindMasterKey(d, realm)
	if err != nil {
		return db.ImportRequest{}, mitdump.Report{}, err
	}
	mk, err := f.masterKey(km, realm)
	if err != nil {
		return db.ImportRequest{}, mitdump.Report{}, err
	}
	req, rep, err := mitdump.ToImport(d, mk, realm)
	if err != nil {
		return db.ImportRequest{}, mitdump.Report{}, fmt.Errorf("%s: %w (nothing imported)", path, err)
	}
	return req, rep, nil
}

func newImportCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "import", Short: "Import a realm from another KDC, or a keepalived configuration"}
	var keys mitKeyFlags
	var overwrite, dryRun bool
	sub := &cobra.Command{
		Use:   "mit-dump DUMPFILE (--stash FILE | --master-password-file FILE)",
		Short: "Import an MIT `kdb5_util dump` (keys, kvnos, salts, flags, lifetimes, policies) as one atomic write",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, rep, err := keys.load(args[0])
			if err != nil {
				return err
			}
			req.Overwrite, req.DryRun = overwrite, dryRun
			res, err := adminClient(cmd).Import(cmd.Context(), req)
			if err != nil {
				return fmt.Errorf("import: %w (nothing imported)", err)
			}
			printImport(cmd.OutOrStdout(), res, rep)
			return nil
		},
	}
	keys.add(sub)
	sub.Flags().BoolVar(&overwrite, "overwrite", false, "replace existing principals and policies (needed for the realm's krbtgt, which keeps MIT-issued TGTs valid)")
	sub.Flags().BoolVar(&dryRun, "dry-run", false, "check everything and print the summary without writing")
	cmd.AddCommand(sub, newImportKeepalivedCommand())
	return cmd
}

func printImport(w io.Writer, res *db.ImportResult, rep mitdump.Report) {
	verb := "imported"
	if res.DryRun {
		verb = "would import (dry run)"
	}
	fmt.Fprintf(w, "%s %d principals (%d new, %d replaced) and %d policies\n", verb,
		len(res.Created)+len(res.Replaced), len(res.Created), len(res.Replaced), res.Policies)
	for _, r := range res.Replaced {
		fmt.Fprintf(w, "replaced: %s\n", r)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "skipped: %s\n", s)
	}
	for _, n := range rep.NoUsableKey {
		fmt.Fprintf(w, "no usable key (DES/3DES/RC4 only; not imported, give it a new password or key): %s\n", n)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func newExportCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Export the realm for another KDC"}
	var keys mitKeyFlags
	var out string
	sub := &cobra.Command{
		Use:   "mit-dump -o FILE (--stash FILE | --master-password-file FILE)",
		Short: "Write an MIT dump (for `kdb5_util load`) with keys encrypted in the given MIT master key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("give the dump file with -o FILE")
			}
			if _, err := os.Lstat(out); err == nil {
				return fmt.Errorf("%s already exists; not overwriting it", out)
			}
			ex, err := adminClient(cmd).Export(cmd.Context())
			if err != nil {
				return err
			}
			mk, err := keys.masterKey(nil, ex.Realm)
			if err != nil {
				return err
			}
			d, err := mitdump.FromExport(ex.Principals, ex.Policies, mk, ex.Realm)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := mitdump.Write(&buf, d); err != nil {
				return err
			}
			if err := db.WriteSecretFile(out, buf.Bytes()); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("%s already exists; not overwriting it", out)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d principals, %d policies\n", out, len(d.Principals), len(d.Policies))
			return nil
		},
	}
	keys.add(sub)
	sub.Flags().StringVarP(&out, "output", "o", "", "dump file to create (mode 0600, must not exist)")
	cmd.AddCommand(sub)
	return cmd
}
