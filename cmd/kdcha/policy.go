package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc/db"
)

func newPolicyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Manage password policies (MIT kadmin's addpol/modpol/getpol/listpols/delpol)"}
	cmd.AddCommand(policySet("add", "Create a password policy"), policySet("modify", "Change a password policy (unset flags keep their value)"),
		policyGet(), policyList(), policyDelete())
	return cmd
}

// policySet is `policy add` and `policy modify`: the flags are MIT kadmin's
// addpol options.
func policySet(verb, short string) *cobra.Command {
	var p db.PasswordPolicy
	cmd := &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := adminClient(cmd)
			cur := db.PasswordPolicy{Name: args[0]}
			if verb == "modify" {
				var err error
				if cur, err = c.Policy(cmd.Context(), args[0]); err != nil {
					return err
				}
			} else if _, err := c.Policy(cmd.Context(), args[0]); err == nil && args[0] != db.DefaultPolicyName {
				return fmt.Errorf("policy %s exists: use policy modify", args[0])
			}
			f := cmd.Flags()
			copyIf := func(name string, dst, src any) {
				if !f.Changed(name) {
					return
				}
				switch d := dst.(type) {
				case *int:
					*d = *src.(*int)
				case *time.Duration:
					*d = *src.(*time.Duration)
				case *bool:
					*d = *src.(*bool)
				}
			}
			copyIf("minlength", &cur.MinLength, &p.MinLength)
			copyIf("minclasses", &cur.MinClasses, &p.MinClasses)
			copyIf("history", &cur.History, &p.History)
			copyIf("minlife", &cur.MinLife, &p.MinLife)
			copyIf("maxlife", &cur.MaxLife, &p.MaxLife)
			copyIf("maxfailure", &cur.MaxFailures, &p.MaxFailures)
			copyIf("failurecountinterval", &cur.FailureInterval, &p.FailureInterval)
			copyIf("lockoutduration", &cur.LockoutDuration, &p.LockoutDuration)
			copyIf("allow-common", &cur.AllowCommon, &p.AllowCommon)
			if err := c.SetPolicy(cmd.Context(), cur); err != nil {
				return err
			}
			printPolicy(cmd.OutOrStdout(), cur)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&p.MinLength, "minlength", 0, "minimum password length (characters)")
	f.IntVar(&p.MinClasses, "minclasses", 0, "minimum character classes (lower, upper, digits, punctuation, other)")
	f.IntVar(&p.History, "history", 0, "how many passwords, the current one included, may not be reused")
	f.DurationVar(&p.MinLife, "minlife", 0, "how long a password must be kept before its owner may change it")
	f.DurationVar(&p.MaxLife, "maxlife", 0, "how long a password is valid (0: forever)")
	f.IntVar(&p.MaxFailures, "maxfailure", 0, "preauthentication failures that lock the principal (0: never)")
	f.DurationVar(&p.FailureInterval, "failurecountinterval", 0, "how long a failure counts")
	f.DurationVar(&p.LockoutDuration, "lockoutduration", 0, "how long a lockout lasts (0: until unlocked)")
	f.BoolVar(&p.AllowCommon, "allow-common", false, "accept passwords from the built-in list of the most common ones")
	return cmd
}

func policyGet() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a password policy (" + db.DefaultPolicyName + " is the realm default)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := adminClient(cmd).Policy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), admin.PolicyToJSON(p))
			}
			printPolicy(cmd.OutOrStdout(), p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func policyList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the stored password policies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := adminClient(cmd).Policies(cmd.Context())
			if err != nil {
				return err
			}
			for _, p := range ps {
				fmt.Fprintln(cmd.OutOrStdout(), p.Name)
			}
			return nil
		},
	}
}

func policyDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a password policy that no principal uses",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := adminClient(cmd).DeletePolicy(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted policy %s\n", args[0])
			return nil
		},
	}
}

func printPolicy(w io.Writer, p db.PasswordPolicy) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("Policy", p.Name)
	row("Minimum length", p.MinLength)
	row("Minimum classes", p.MinClasses)
	row("History", p.History)
	row("Minimum life", p.MinLife)
	row("Maximum life", lifeOrForever(p.MaxLife))
	row("Max failures", p.MaxFailures)
	row("Failure interval", p.FailureInterval)
	row("Lockout duration", lifeOrForever(p.LockoutDuration))
	row("Common passwords", map[bool]string{true: "allowed", false: "refused"}[p.AllowCommon])
	tw.Flush()
}

func lifeOrForever(d time.Duration) string {
	if d == 0 {
		return "forever"
	}
	return d.String()
}

// setWhen parses the time flag name, if given, into *dst: an RFC 3339
// time, a duration from now, "now", or "never" (the zero time).
func setWhen(f *pflag.FlagSet, name, v string, dst **time.Time) error {
	if !f.Changed(name) {
		return nil
	}
	var t time.Time
	switch v {
	case "never":
	case "now":
		t = time.Now().UTC()
	default:
		if d, err := time.ParseDuration(v); err == nil {
			t = time.Now().UTC().Add(d)
			break
		}
		var err error
		if t, err = time.Parse(time.RFC3339, v); err != nil {
			return errors.New("--" + name + ": give an RFC 3339 time (2030-01-31T00:00:00Z), a duration from now (2160h), now, or never")
		}
	}
	*dst = &t
	return nil
}

func whenString(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func policyString(name string) string {
	if name == "" {
		return db.DefaultPolicyName + " (realm default)"
	}
	return name
}
