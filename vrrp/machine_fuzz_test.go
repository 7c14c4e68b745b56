package vrrp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// FuzzMachine drives the state machine with arbitrary input sequences and
// checks invariants that must hold whatever the peers send: VIPs are held
// exactly while MASTER, an event accompanies every state change, priority 0
// is only advertised when leaving MASTER and is all a resigning master
// advertises, and a timer is armed exactly in BACKUP and MASTER.
func FuzzMachine(f *testing.F) {
	f.Add(uint8(100), false, []byte{0, 3, 2, 1, 40, 3, 1, 0, 3, 5, 6, 3, 4, 7})
	f.Add(uint8(255), true, []byte{0, 1, 255, 3, 5, 2, 0, 4, 3, 6, 1, 100, 7})
	f.Fuzz(func(t *testing.T, prio uint8, v2 bool, script []byte) {
		p := baseParams()
		p.Priority = max(prio, 1)
		p.GARPDelay, p.GARPRefresh, p.PreemptDelay = 2*time.Second, 3*time.Second, 5*time.Second
		p.ResignHold = 2 * time.Second
		if v2 {
			p.Version = Version2
		}
		m, err := NewMachine(p)
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		holding := false
		peers := []netip.Addr{lowerIP, higherIP, ownIP}
		for i := 0; i+1 < len(script) && i < 400; i += 2 {
			op, arg := script[i]%9, script[i+1]
			now = now.Add(time.Duration(arg) * 10 * time.Millisecond)
			var in Input
			switch op {
			case 0:
				in = Start{}
			case 1:
				in = AdvertReceived{Src: peers[int(arg)%len(peers)], Priority: arg, Interval: time.Duration(1+arg%3) * time.Second}
			case 2, 3:
				in = Timeout{}
			case 4:
				in = PriorityDelta{Delta: int(int8(arg))}
			case 5:
				in = Fault{Source: fmt.Sprint(arg % 2), Detail: "fuzz"}
			case 6:
				in = FaultCleared{Source: fmt.Sprint(arg % 2)}
			case 7:
				in = Shutdown{}
			case 8:
				in = VIPsRemoved{}
			}
			before := m.State()
			out := m.Step(now, in)
			var events int
			for _, a := range out.Actions {
				switch a := a.(type) {
				case AddVIPs:
					if before != StateMaster && m.State() != StateMaster {
						t.Fatalf("step %d %T: AddVIPs outside MASTER", i/2, in)
					}
					holding = true
				case RemoveVIPs:
					holding = false
				case SendAdvert:
					if a.Priority == 0 && before != StateMaster {
						t.Fatalf("step %d %T: priority 0 advert from %v", i/2, in, before)
					}
					if a.Priority != 0 && m.Resigning() {
						t.Fatalf("step %d %T: resigning master advertised priority %d", i/2, in, a.Priority)
					}
				case Event:
					events++
					if a.Previous == a.State {
						t.Fatalf("step %d %T: event without change %+v", i/2, in, a)
					}
				}
			}
			if (m.State() != before) != (events == 1) || events > 1 {
				t.Fatalf("step %d %T: %v -> %v with %d events", i/2, in, before, m.State(), events)
			}
			if holding != (m.State() == StateMaster) {
				t.Fatalf("step %d %T: state %v but holding VIPs = %v", i/2, in, m.State(), holding)
			}
			running := m.State() == StateBackup || m.State() == StateMaster
			if running == out.Next.IsZero() {
				t.Fatalf("step %d %T: state %v with next %v", i/2, in, m.State(), out.Next)
			}
			if pr := m.Priority(); pr == 0 || (pr == OwnerPriority) != (p.Priority == OwnerPriority) {
				t.Fatalf("step %d: effective priority %d from base %d", i/2, pr, p.Priority)
			}
		}
	})
}
