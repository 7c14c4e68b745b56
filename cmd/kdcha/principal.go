package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kdcha/kdcha/admin"
)

func newPrincipalCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "principal", Short: "Manage principals through the local node's admin API"}
	cmd.AddCommand(principalAdd(), principalGet(), principalList(), principalDelete(), principalModify(), principalSetPassword(), principalRekey())
	return cmd
}

func principalAdd() *cobra.Command {
	var (
		passwordFile string
		randomKey    bool
		keysFile     string
		req          admin.AddRequest
	)
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a principal with a password (--password-file) or a random key (--random-key)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if keysFile != "" {
				if randomKey || passwordFile != "" || len(req.Aliases) > 0 || req.NoPreauth || len(req.EncTypes) > 0 {
					return errors.New("--keys-from-keytab takes no password, random key, alias, preauth or enctypes flag (the keytab's keys are kept)")
				}
				return importFromKeytab(cmd, req.Name, keysFile, req)
			}
			switch {
			case randomKey && passwordFile != "":
				return errors.New("give either --password-file or --random-key, not both")
			case randomKey:
				req.RandomKey = true
			default:
				pw, err := readPassword(cmd, passwordFile, true)
				if err != nil {
					return err
				}
				req.Password = &pw
			}
			p, err := adminClient(cmd).Add(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s (kvno %d)\n", p.Name, p.KVNO)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&passwordFile, "password-file", "", "read the password from the first line of this file (- for stdin)")
	f.BoolVar(&randomKey, "random-key", false, "random keys (service and keytab principals)")
	f.BoolVar(&req.NoPreauth, "no-preauth", false, "do not require pre-authentication")
	f.DurationVar((*time.Duration)(&req.MaxLife), "max-life", 0, "cap ticket lifetime for this principal (0 = realm limit)")
	f.DurationVar((*time.Duration)(&req.MaxRenewableLife), "max-renewable-life", 0, "cap renewable lifetime (0 = realm limit)")
	f.StringSliceVar(&req.Aliases, "alias", nil, "another name of this principal (repeatable)")
	f.StringVar(&req.Policy, "policy", "", "password policy (default: the realm default policy)")
	f.StringVar(&keysFile, "keys-from-keytab", "", "take the keys (and kvno) from this existing keytab of the service, so it need not be re-issued")
	f.StringSliceVar(&req.EncTypes, "enctypes", nil, "enctypes of its keys, kept by later password changes and rekeys (MIT names: aes256-cts-hmac-sha1-96,aes128-cts-hmac-sha1-96,aes256-cts-hmac-sha384-192,aes128-cts-hmac-sha256-128; default: the realm's)")
	return cmd
}

func principalGet() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a principal",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := adminClient(cmd).Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), p)
			}
			printPrincipal(cmd.OutOrStdout(), p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	addConsistentFlag(cmd)
	return cmd
}

func principalList() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [GLOB]",
		Short: "List principals, or those matching an MIT-style glob ('host/*'; without @ the realm is implied)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := adminClient(cmd).ListGlob(cmd.Context(), strings.Join(args, ""))
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), ps)
			}
			for _, p := range ps {
				fmt.Fprintln(cmd.OutOrStdout(), p.Name)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	addConsistentFlag(cmd)
	return cmd
}

func principalDelete() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a principal (its kvno is remembered: a re-created principal continues above it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := adminClient(cmd).Delete(cmd.Context(), args[0], force); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete a protected principal (krbtgt/*, kdcha/health, kadmin/*); the realm's own krbtgt can never be deleted")
	return cmd
}

func principalModify() *cobra.Command {
	var (
		req          admin.ModifyRequest
		aliases      []string
		clearAliases bool
	)
	boolFlags := map[string]**bool{
		"requires-preauth":  &req.RequiresPreauth,
		"disabled":          &req.Disabled,
		"allow-forwardable": &req.AllowForwardable,
		"allow-renewable":   &req.AllowRenewable,
		"allow-proxiable":   &req.AllowProxiable,
		"allow-service":     &req.AllowService,
		// kpasswd set-password (RFC 3244 0xff80) of other principals.
		"allow-set-password": &req.AllowSetPassword,
	}
	vals := map[string]*bool{}
	var maxLife, maxRenew time.Duration
	var expires, pwExpires, policy string
	var etypes []string
	cmd := &cobra.Command{
		Use:   "modify NAME",
		Short: "Change a principal's flags, limits or aliases",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			for name, dst := range boolFlags {
				if f.Changed(name) {
					*dst = vals[name]
				}
			}
			if f.Changed("max-life") {
				req.MaxLife = (*admin.Duration)(&maxLife)
			}
			if f.Changed("max-renewable-life") {
				req.MaxRenewableLife = (*admin.Duration)(&maxRenew)
			}
			if err := setWhen(f, "expires", expires, &req.Expires); err != nil {
				return err
			}
			if err := setWhen(f, "password-expires", pwExpires, &req.PasswordExpires); err != nil {
				return err
			}
			if f.Changed("policy") {
				req.Policy = &policy
			}
			if f.Changed("enctypes") {
				req.EncTypes = &etypes
			}
			if clearAliases && f.Changed("alias") {
				return errors.New("--clear-aliases and --alias exclude each other")
			}
			if clearAliases {
				// An empty list, not null: the API reads null as "leave
				// the aliases alone".
				aliases = []string{}
			}
			if clearAliases || f.Changed("alias") {
				req.Aliases = &aliases
			}
			if req == (admin.ModifyRequest{}) {
				return errors.New("nothing to change: give at least one flag (see --help)")
			}
			p, err := adminClient(cmd).Modify(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			printPrincipal(cmd.OutOrStdout(), p)
			return nil
		},
	}
	f := cmd.Flags()
	for name := range boolFlags {
		vals[name] = new(bool)
		f.BoolVar(vals[name], name, false, "set or clear (--"+name+"=false) this flag")
	}
	f.DurationVar(&maxLife, "max-life", 0, "ticket lifetime cap (0 = realm limit)")
	f.DurationVar(&maxRenew, "max-renewable-life", 0, "renewable lifetime cap (0 = realm limit)")
	f.StringSliceVar(&aliases, "alias", nil, "replace the aliases with these (repeatable)")
	f.BoolVar(&clearAliases, "clear-aliases", false, "remove every alias")
	f.BoolVar(&req.Unlock, "unlock", false, "clear a lockout")
	f.StringVar(&expires, "expires", "", "when the principal expires: RFC 3339 time, a duration from now (2160h), now, or never")
	f.StringVar(&pwExpires, "password-expires", "", "when its password expires (same forms); the next password change sets it from the policy's maxlife")
	f.StringVar(&policy, "policy", "", `password policy ("" for the realm default)`)
	f.StringSliceVar(&etypes, "enctypes", nil, `enctypes of the keys its next password change or rekey makes (MIT names; "" for the realm's)`)
	return cmd
}

func principalSetPassword() *cobra.Command {
	var passwordFile string
	cmd := &cobra.Command{
		Use:   "set-password NAME",
		Short: "Set a new password (new keys, kvno+1)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, passwordFile, true)
			if err != nil {
				return err
			}
			p, err := adminClient(cmd).SetPassword(cmd.Context(), args[0], pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password set for %s (kvno %d)\n", p.Name, p.KVNO)
			return nil
		},
	}
	cmd.Flags().StringVar(&passwordFile, "password-file", "", "read the password from the first line of this file (- for stdin)")
	return cmd
}

func principalRekey() *cobra.Command {
	return &cobra.Command{
		Use:   "rekey NAME",
		Short: "Give a principal new random keys (kvno+1); re-export its keytabs afterwards",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := adminClient(cmd).Rekey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rekeyed %s (kvno %d)\n", p.Name, p.KVNO)
			return nil
		},
	}
}

// readPassword reads a password from a file's first line, from stdin ("-"),
// or, with no file, from the terminal (twice, to catch typos).
func readPassword(cmd *cobra.Command, file string, confirm bool) (string, error) {
	if file != "" {
		return readSecretLine(cmd, file, "password file")
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("no password given: use --password-file FILE (or - for stdin), or --random-key")
	}
	fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if confirm {
		fmt.Fprint(cmd.ErrOrStderr(), "Again: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(again) != string(pw) {
			return "", errors.New("passwords do not match")
		}
	}
	return string(pw), nil
}

// readSecretLine reads the first line of file, or of stdin for "-": secrets
// are passed this way rather than as arguments, which `ps` shows.
func readSecretLine(cmd *cobra.Command, file, what string) (string, error) {
	var r io.Reader = cmd.InOrStdin()
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func printPrincipal(w io.Writer, p admin.PrincipalInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("Principal", p.Name)
	if len(p.Aliases) > 0 {
		row("Aliases", strings.Join(p.Aliases, ", "))
	}
	row("Key version", p.KVNO)
	row("Enctypes", strings.Join(p.EncTypes, ", "))
	if len(p.EncTypeSet) > 0 {
		row("Enctypes of new keys", strings.Join(p.EncTypeSet, ", "))
	}
	a := p.Attributes
	row("Requires preauth", a.RequiresPreauth)
	row("Disabled", a.Disabled)
	row("Locked", p.Locked)
	row("Forwardable", !a.DisallowForwardable)
	row("Renewable", !a.DisallowRenewable)
	row("Proxiable", !a.DisallowProxiable)
	row("Service", !a.DisallowService)
	row("May set passwords", a.MaySetPasswords)
	row("Max life", lifeString(time.Duration(p.MaxLife)))
	row("Max renewable life", lifeString(time.Duration(p.MaxRenewableLife)))
	row("Expires", whenString(p.Expires))
	row("Password policy", policyString(p.Policy))
	row("Password changed", whenString(p.PasswordChanged))
	row("Password expires", whenString(p.PasswordExpires))
	row("Created", p.Created.Format(time.RFC3339))
	row("Modified", p.Modified.Format(time.RFC3339))
	row("Revision", p.Revision)
	tw.Flush()
}

func lifeString(d time.Duration) string {
	if d == 0 {
		return "realm limit"
	}
	return d.String()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
