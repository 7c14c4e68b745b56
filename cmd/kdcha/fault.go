package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc"
)

// newDebugCommand groups the verbs for tests and demos.
func newDebugCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "debug",
		Short: "Tools for tests and demos (fault injection)",
	}
	cmd.AddCommand(newFaultCommand())
	return cmd
}

func newFaultCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "fault kdc-hang | kdc-slow DURATION | vrrp-mute | clear",
		Short: "Inject a fault into the local node (needs node.fault_injection: true)",
		Long: `Inject a fault into the running local node, to show or test a failover
without firewall tricks:

  kdc-hang           the KDC reads requests and holds them unanswered
  kdc-slow DURATION  the KDC delays every answer by DURATION (at most 30s)
  vrrp-mute          the node stops sending VRRP adverts
  clear              remove every fault (held requests are then answered)

The node refuses unless its configuration has node.fault_injection: true.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := faultRequestFromArgs(args)
			if err != nil {
				return err
			}
			st, err := adminClient(cmd).InjectFaults(cmd.Context(), req)
			if err != nil {
				return err
			}
			kdcFault := string(st.KDC)
			if st.Delay != "" {
				kdcFault += " " + st.Delay
			}
			fmt.Fprintf(cmd.OutOrStdout(), "faults in force: kdc %s, vrrp muted %v\n", kdcFault, st.VRRPMute)
			return nil
		},
	}
}

// faultRequestFromArgs turns the verb's arguments into the API request.
func faultRequestFromArgs(args []string) (admin.FaultRequest, error) {
	want := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("debug fault %s: takes %d argument(s)", args[0], n-1)
		}
		return nil
	}
	switch args[0] {
	case "kdc-hang":
		return admin.FaultRequest{KDC: string(kdc.FaultHang)}, want(1)
	case "kdc-slow":
		if err := want(2); err != nil {
			return admin.FaultRequest{}, err
		}
		d, err := time.ParseDuration(args[1])
		if err != nil {
			return admin.FaultRequest{}, fmt.Errorf("debug fault kdc-slow: %w", err)
		}
		if err := kdc.ValidateFault(kdc.FaultSlow, d); err != nil {
			return admin.FaultRequest{}, err
		}
		return admin.FaultRequest{KDC: string(kdc.FaultSlow), Delay: d.String()}, nil
	case "vrrp-mute":
		return admin.FaultRequest{VRRPMute: new(true)}, want(1)
	case "clear":
		return admin.FaultRequest{KDC: string(kdc.FaultNone), VRRPMute: new(false)}, want(1)
	}
	return admin.FaultRequest{}, fmt.Errorf("debug fault: unknown fault %q (want kdc-hang, kdc-slow DURATION, vrrp-mute or clear)", args[0])
}
