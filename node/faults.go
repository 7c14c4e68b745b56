package node

import (
	"context"
	"sync"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/vrrp"
)

// faultInjector serves `kdcha debug fault` on a node started with
// node.fault_injection: it hangs or slows the KDC's request handling and
// mutes VRRP, so tests and demos produce "KDC hung, agent alive" or "agent
// silent" without firewall tricks.
type faultInjector struct {
	kdc *kdc.Faults

	mu        sync.Mutex
	muted     bool
	instances []*vrrp.Instance
}

// InjectFaults implements admin.FaultInjector.
func (f *faultInjector) InjectFaults(_ context.Context, c admin.FaultChange) (admin.FaultState, error) {
	if c.KDC != "" {
		if err := f.kdc.Set(c.KDC, c.Delay); err != nil {
			return admin.FaultState{}, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.VRRPMute != nil {
		f.muted = *c.VRRPMute
		for _, in := range f.instances {
			in.SetMuted(f.muted)
		}
	}
	mode, delay := f.kdc.State()
	st := admin.FaultState{KDC: mode, VRRPMute: f.muted}
	if delay > 0 {
		st.Delay = delay.String()
	}
	return st, nil
}

// track puts a newly opened instance under the mute switch, muted at once
// if VRRP is muted (an instance a reload restarts stays muted).
func (f *faultInjector) track(in *vrrp.Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// Instances a reload stopped stay listed (muting a stopped instance
	// does nothing); a debug-only node can afford one entry per restart.
	f.instances = append(f.instances, in)
	in.SetMuted(f.muted)
}
