package node

import (
	"context"
	"errors"
	"fmt"
	"github.com/kdcha/kdcha/internal/logging"
	"reflect"
	"slices"
	"strings"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/vrrp"
)

// ReloadFile checks the configuration at path as the agent does at start
// (CheckConfig) and reloads it (see Reload).
// A file that does not load is refused like any invalid configuration:
// the running one stays, and the error is logged and shown in status.
func (n *Node) ReloadFile(ctx context.Context, path string) error {
	cfg, err := CheckConfig(path)
	if err != nil {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.recordReload(nil, err)
	}
	return n.Reload(ctx, cfg)
}

// Reload applies what changed in cfg without a restart: node.log_level,
// health checks, notification sinks and VRRP instances. An instance whose
// settings did not change keeps running untouched; one whose priority
// alone changed is updated in place (no VIP move unless the new priority
// asks for one); any other changed instance is restarted; added and
// removed ones are started and stopped. A change to a key that needs a
// restart (realm, node name, data dir, admin socket, database, kdc,
// metrics, cluster) refuses the whole reload naming the keys; so does an
// invalid configuration. A refused reload leaves the running configuration
// as it was. The outcome is logged and shown in `kdcha status`
// (last_reload).
func (n *Node) Reload(ctx context.Context, cfg *Config) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	changes, err := n.reloadLocked(ctx, cfg)
	return n.recordReload(changes, err)
}

func (n *Node) recordReload(changes []string, err error) error {
	st := admin.ReloadStatus{Time: n.parts.clock.Now(), OK: err == nil}
	if err != nil {
		st.Error = err.Error()
		n.log.Error("configuration reload refused; the running configuration stays", "err", err)
	} else {
		n.log.Info("configuration reloaded", "changed", strings.Join(changes, ", "))
	}
	n.live.setLastReload(st)
	return err
}

// restartKeys are the sections and keys a running node cannot change.
func restartKeys(old, cur *Config) []string {
	var keys []string
	if old.Realm != cur.Realm {
		keys = append(keys, "realm")
	}
	if old.Mode != cur.Mode {
		keys = append(keys, "mode")
	}
	for _, k := range changedKeys("node", old.Node, cur.Node) {
		if k != "node.log_level" {
			keys = append(keys, k)
		}
	}
	keys = append(keys, changedKeys("database", old.Database, cur.Database)...)
	keys = append(keys, changedKeys("kdc", old.KDC, cur.KDC)...)
	keys = append(keys, changedKeys("metrics", old.Metrics, cur.Metrics)...)
	keys = append(keys, changedKeys("cluster", old.Cluster, cur.Cluster)...)
	return keys
}

// changedKeys names, by their YAML keys under prefix, the fields of two
// values of one struct type that differ.
func changedKeys(prefix string, old, cur any) []string {
	a, b := reflect.ValueOf(old), reflect.ValueOf(cur)
	var out []string
	for i := range a.NumField() {
		f := a.Type().Field(i)
		if !f.IsExported() || reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, prefix+"."+name)
	}
	return out
}

// instancePlan says what a reload does with one instance.
type instancePlan int

const (
	planKeep instancePlan = iota
	planReprioritize
	planRestart
)

// planInstance compares an instance's running and new settings. A
// priority change is applied in place through the priority delta, except
// to or from 255 (the address owner, which the state machine treats
// apart).
func planInstance(old, cur vrrp.InstanceConfig) instancePlan {
	if reflect.DeepEqual(old, cur) {
		return planKeep
	}
	samePriority := old
	samePriority.Priority = cur.Priority
	if reflect.DeepEqual(samePriority, cur) && old.Priority != vrrp.OwnerPriority && cur.Priority != vrrp.OwnerPriority {
		return planReprioritize
	}
	return planRestart
}

func (n *Node) reloadLocked(ctx context.Context, cfg *Config) ([]string, error) {
	if n.phase != PhaseRunning {
		return nil, fmt.Errorf("the node is %s, not running", n.phase)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if keys := restartKeys(n.cfg, cfg); len(keys) > 0 {
		return nil, fmt.Errorf("%s: changing it needs a restart (systemctl restart kdcha)", strings.Join(keys, ", "))
	}

	// Everything that can fail is built before anything changes.
	var changes []string
	var newHealth healthRunner
	if !reflect.DeepEqual(n.cfg.Health, cfg.Health) {
		h, err := n.parts.newHealth(cfg, n.kdcAddrs, n.offerVerdict)
		if err != nil {
			return nil, fmt.Errorf("health: %w", err)
		}
		newHealth = h
		changes = append(changes, "health")
	}
	var newNotifier notifier
	if !reflect.DeepEqual(n.cfg.Notify, cfg.Notify) {
		d, err := n.parts.newNotifier(cfg)
		if err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
		newNotifier = d
		changes = append(changes, "notify")
	}

	if cfg.Node.LogLevel != n.cfg.Node.LogLevel {
		level, _ := logging.ParseLevel(cfg.Node.LogLevel) // validated
		n.level.Set(level)
		changes = append(changes, "node.log_level")
	}
	if newNotifier != nil {
		n.notifierMu.Lock()
		old := n.notifier
		n.notifier = newNotifier
		n.notifierMu.Unlock()
		n.closeNotifier(old)
	}
	if newHealth != nil {
		// The last settled verdict stays applied until the new checks
		// have results (the applier ignores pending verdicts).
		n.healthRun.stop()
		n.health = newHealth
		n.live.setHealth(newHealth)
		n.healthRun = startTask(newHealth.Run)
	}
	vrrpChanges, err := n.reloadInstances(cfg.VRRP.Instances)
	changes = append(changes, vrrpChanges...)
	n.cfg = cfg
	return changes, err
}

// reloadInstances moves the running instances to want (see Reload).
func (n *Node) reloadInstances(want []vrrp.InstanceConfig) ([]string, error) {
	running := map[string]*runningInstance{}
	for _, ri := range n.instances {
		running[ri.cfg.Name] = ri
	}
	var changes []string
	var stop []*runningInstance
	restarted := map[string]vrrp.InstanceConfig{} // name -> the settings it ran with
	n.imu.Lock()
	for _, ic := range want {
		ri := running[ic.Name]
		delete(running, ic.Name)
		switch {
		case ri == nil:
			changes = append(changes, "vrrp "+ic.Name+" added")
		case planInstance(ri.cfg, ic) == planKeep:
		case planInstance(ri.cfg, ic) == planReprioritize:
			ri.cfg = ic
			changes = append(changes, fmt.Sprintf("vrrp %s priority %d", ic.Name, ic.Priority))
		default:
			stop = append(stop, ri)
			restarted[ic.Name] = ri.cfg
			changes = append(changes, "vrrp "+ic.Name+" restarted")
		}
	}
	for _, ri := range running {
		stop = append(stop, ri)
		changes = append(changes, "vrrp "+ri.cfg.Name+" removed")
	}
	// The applier no longer sees the instances being stopped.
	n.instances = slices.DeleteFunc(n.instances, func(ri *runningInstance) bool { return slices.Contains(stop, ri) })
	n.imu.Unlock()
	n.stopInstances(stop)

	var errs []error
	next := make([]*runningInstance, 0, len(want))
	for _, ic := range want {
		if ri := n.instanceNamed(ic.Name); ri != nil {
			next = append(next, ri)
			continue
		}
		ri, err := n.openAndRun(ic)
		if err != nil {
			errs = append(errs, err)
			prev, ok := restarted[ic.Name]
			if !ok {
				continue
			}
			// Keep serving the VIP with the settings that worked.
			if ri, err = n.openAndRun(prev); err != nil {
				errs = append(errs, fmt.Errorf("vrrp instance %s: reopening the previous settings: %w", ic.Name, err))
				continue
			}
		}
		next = append(next, ri)
	}
	n.imu.Lock()
	n.instances = next
	n.imu.Unlock()
	n.publishInstances()
	if len(changes) > 0 {
		n.kickApplier() // new instances and offsets get the verdict
	}
	if err := errors.Join(errs...); err != nil {
		return changes, fmt.Errorf("vrrp: %w", err)
	}
	return changes, nil
}

func (n *Node) instanceNamed(name string) *runningInstance {
	n.imu.Lock()
	defer n.imu.Unlock()
	for _, ri := range n.instances {
		if ri.cfg.Name == name {
			return ri
		}
	}
	return nil
}

func (n *Node) openAndRun(ic vrrp.InstanceConfig) (*runningInstance, error) {
	in, err := n.parts.openInstance(ic, n.instanceEvents(ic))
	if err != nil {
		return nil, err
	}
	ri := &runningInstance{in: in, cfg: ic, opened: ic.Priority}
	n.runInstance(ri)
	return ri, nil
}
