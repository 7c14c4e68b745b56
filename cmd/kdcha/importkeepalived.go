package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/kaconf"
	"github.com/kdcha/kdcha/kaimport"
)

// newImportKeepalivedCommand is `kdcha import keepalived FILE`: it writes
// the converted agent configuration (stdout or -o) and lists on stderr what
// it could not carry over, so the YAML can be piped while the list is read.
func newImportKeepalivedCommand() *cobra.Command {
	var out string
	var peers []string
	var o kaimport.Options
	cmd := &cobra.Command{
		Use:   "keepalived FILE [-o OUT]",
		Short: "Convert a keepalived.conf (vrrp_instance, vrrp_script, notify, unicast peers) into a kdcha agent configuration",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := kaconf.Parse(args[0], kaconf.Options{})
			if err != nil {
				return fmt.Errorf("import keepalived: %w", err)
			}
			for _, peer := range peers {
				pc, err := kaconf.Parse(peer, kaconf.Options{})
				if err != nil {
					return fmt.Errorf("import keepalived: --peer: %w", err)
				}
				o.Peers = append(o.Peers, pc)
			}
			r, err := kaimport.Convert(c, o)
			if err != nil {
				return fmt.Errorf("import keepalived: %w", err)
			}
			b, err := r.YAML(args[0])
			if err != nil {
				return fmt.Errorf("import keepalived: %w", err)
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(b)
			} else {
				err = writeNew(out, b)
			}
			if err != nil {
				return fmt.Errorf("import keepalived: %w", err)
			}
			for _, l := range r.Report() {
				fmt.Fprintln(cmd.ErrOrStderr(), l)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the configuration to this new file (default: stdout)")
	cmd.Flags().StringVar(&o.Realm, "realm", "", "the realm (default: the realm of the kinit check script's principal)")
	cmd.Flags().StringVar(&o.KDC, "kdc", "", "host:port the converted kinit checks probe (default 127.0.0.1:88)")
	cmd.Flags().StringArrayVar(&peers, "peer", nil, "the keepalived.conf of another node of the same virtual routers (repeatable): its priorities are the backups' in the weight tie warning")
	return cmd
}

// writeNew writes a file that must not exist yet: a converted config must
// not silently replace a node's real one.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
