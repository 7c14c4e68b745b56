package main

import (
	"time"

	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc/db"
)

func newKeytabCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keytab", Short: "Keytab files"}
	var (
		out      string
		appendTo bool
		req      admin.KeytabRequest
	)
	export := &cobra.Command{
		Use:   "export NAME... -o FILE",
		Short: "Write the keys of principals to an MIT keytab (mode 0600); keys are not changed",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("give the keytab file with -o FILE")
			}
			var existing []byte
			if appendTo {
				b, err := readKeytabFile(out)
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				existing = b
			} else if _, err := os.Lstat(out); err == nil {
				// Fail before asking the node for keys if the file exists.
				return fmt.Errorf("keytab %s already exists; not overwriting it (--append adds to it)", out)
			}
			req.Names = args
			b, err := adminClient(cmd).KeytabWith(cmd.Context(), req)
			if err != nil {
				return err
			}
			if existing == nil {
				if err := db.WriteSecretFile(out, b); err != nil {
					if errors.Is(err, fs.ErrExist) {
						return fmt.Errorf("keytab %s already exists; not overwriting it (--append adds to it)", out)
					}
					return fmt.Errorf("write keytab: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
				return nil
			}
			merged, n, err := db.AppendKeytab(existing, b)
			if err != nil {
				return fmt.Errorf("keytab %s: %w", out, err)
			}
			if err := db.ReplaceSecretFile(out, merged); err != nil {
				return fmt.Errorf("write keytab: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %d entries to %s\n", n, out)
			return nil
		},
	}
	f := export.Flags()
	f.StringVarP(&out, "output", "o", "", "keytab file to create (must not exist, unless --append)")
	f.BoolVar(&appendTo, "append", false, "add to the keytab file, keeping its entries (as MIT ktadd does); entries it already has are skipped")
	f.StringSliceVar(&req.EncTypes, "enctypes", nil, "only these enctypes (aes256-cts-hmac-sha1-96,aes128-cts-hmac-sha1-96,...)")
	f.BoolVar(&req.KeepOld, "keep-old", false, "also the previous kvno's keys (kept since the last rekey), so the service still accepts tickets issued before it")
	addConsistentFlag(export)
	cmd.AddCommand(export)
	return cmd
}

// readKeytabFile reads a keytab file, bounded by db.MaxKeytabBytes.
func readKeytabFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keytab: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, db.MaxKeytabBytes+1))
	if err != nil {
		return nil, fmt.Errorf("keytab %s: %w", path, err)
	}
	if len(b) > db.MaxKeytabBytes {
		return nil, fmt.Errorf("keytab %s: larger than %d bytes", path, db.MaxKeytabBytes)
	}
	return b, nil
}

// importFromKeytab creates principal name with the keys a service's
// existing keytab holds for it (the newest kvno, and the one before as
// previous keys), so the service keeps its keytab.
func importFromKeytab(cmd *cobra.Command, name, file string, add admin.AddRequest) error {
	b, err := readKeytabFile(file)
	if err != nil {
		return err
	}
	entries, err := db.ParseKeytab(b)
	if err != nil {
		return fmt.Errorf("keytab %s: %w", file, err)
	}
	full := name
	if !strings.Contains(name, "@") {
		realms := map[string]bool{}
		for _, e := range entries {
			if base, realm, _ := strings.Cut(e.Name, "@"); base == name {
				realms[realm] = true
			}
		}
		if len(realms) != 1 {
			return fmt.Errorf("keytab %s: %d realms hold %s; give NAME@REALM", file, len(realms), name)
		}
		for r := range realms {
			full = name + "@" + r
		}
	}
	keys, prev, skipped, err := db.KeysFromKeytab(entries, full)
	if err != nil {
		return fmt.Errorf("keytab %s: %w", file, err)
	}
	ip := db.ImportPrincipal{Name: full, Keys: keys, PreviousKeys: prev, MaxLife: time.Duration(add.MaxLife),
		MaxRenewableLife: time.Duration(add.MaxRenewableLife), Policy: add.Policy}
	if _, err := adminClient(cmd).Import(cmd.Context(), db.ImportRequest{Principals: []db.ImportPrincipal{ip}}); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "created %s with the keys of %s (kvno %d, %d keys", full, file, keys[0].KVNO, len(keys))
	if len(prev) > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), ", previous kvno %d", prev[0].KVNO)
	}
	fmt.Fprintln(cmd.OutOrStdout(), ")")
	if len(skipped) > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "left out keys of enctypes %v (DES, 3DES and RC4 are not held)\n", skipped)
	}
	return nil
}
