package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/bench"
)

// newBenchCommand wires the bench package's load generator to flags; the
// generator itself lives in bench/.
func newBenchCommand() *cobra.Command {
	var c bench.Config
	var mode, passwordFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load any KDC (kdcha, MIT, Heimdal) with AS or TGS requests and report requests/s and latency",
		Long: `Sends distinct AS-REQs (--mode as: no pre-authentication; as-preauth: a fresh
PA-ENC-TIMESTAMP each) or TGS-REQs (--mode tgs, for --service with a TGT got
once) over UDP or TCP, in a closed loop (--concurrency requests in flight) or,
with --rate, an open loop at that many requests per second. Prints requests/s,
replies and errors by Kerberos code, latency percentiles and its own CPU use.
Exits non-zero when no request was answered as the mode expects.
Point it only at a KDC you run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Mode = bench.Mode(mode)
			if passwordFile != "" {
				b, err := os.ReadFile(passwordFile)
				if err != nil {
					return fmt.Errorf("--password-file: %w", err)
				}
				c.Password = strings.TrimRight(string(b), "\r\n")
			}
			r, err := bench.Run(cmd.Context(), c)
			if err != nil {
				return err
			}
			if asJSON {
				err = r.WriteJSON(cmd.OutOrStdout())
			} else {
				err = r.WriteText(cmd.OutOrStdout())
			}
			if err == nil && r.OK == 0 {
				// Scripts waiting for a KDC to come up rely on this.
				err = fmt.Errorf("no request was answered as mode %s expects", c.Mode)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.KDC, "kdc", "127.0.0.1:88", "KDC host:port")
	f.StringVar(&c.Transport, "transport", "udp", "udp or tcp (a connection per request)")
	f.StringVar(&mode, "mode", "as-preauth", "as, as-preauth or tgs")
	f.StringVar(&c.Realm, "realm", "", "realm")
	f.StringVar(&c.Client, "client", "", "client principal, without realm")
	f.StringVar(&passwordFile, "password-file", "", "file holding the client's password (as-preauth, tgs)")
	f.StringVar(&c.Service, "service", "", "service principal for --mode tgs, without realm")
	f.Int32SliceVar(&c.ETypes, "etypes", []int32{18, 17}, "enctypes requested")
	f.IntVar(&c.Concurrency, "concurrency", 16, "requests in flight (open loop: at most)")
	f.Float64Var(&c.Rate, "rate", 0, "open loop: target requests per second (0: closed loop)")
	f.DurationVar(&c.Duration, "duration", 10*time.Second, "measured duration")
	f.DurationVar(&c.Warmup, "warmup", 2*time.Second, "unmeasured warm-up before it")
	f.DurationVar(&c.Timeout, "timeout", time.Second, "per-request timeout")
	f.IntVar(&c.SampleEvery, "sample", 100, "fully decode and decrypt one reply in this many")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
