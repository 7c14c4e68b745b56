package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// killGrace is how long a timed-out script has between SIGTERM and SIGKILL,
// as in keepalived.
const killGrace = 2 * time.Second

// scriptSink runs one instance's keepalived-style notify scripts. The
// Dispatcher delivers that instance's events one at a time, so its scripts
// run one after another in transition order, which keepalived does not
// guarantee (keepalived issues #996, #1055, #1991).
type scriptSink struct {
	instance string
	onState  map[State][]string // notify_master and friends: argv
	notify   []string           // generic notify: argv before the 4 appended args
	timeout  time.Duration
	grace    time.Duration
	log      *slog.Logger
}

// newScriptSink parses and resolves the instance's command lines; errors
// name the offending key.
func newScriptSink(instance string, c ScriptConfig, log *slog.Logger) (*scriptSink, error) {
	return newScriptSinkKeyed(instance, c, log, func(field string) string { return "notify.scripts." + instance + "." + field })
}

// newScriptSinkKeyed is newScriptSink with errors naming key(field), for a
// sink whose command lines come from another key (notify.node).
func newScriptSinkKeyed(instance string, c ScriptConfig, log *slog.Logger, key func(field string) string) (*scriptSink, error) {
	s := &scriptSink{
		instance: instance,
		onState:  make(map[State][]string),
		timeout:  c.Timeout,
		grace:    killGrace,
		log:      log.With("sink", "script:"+instance),
	}
	if s.timeout == 0 {
		s.timeout = DefaultScriptTimeout
	}
	for _, k := range c.all() {
		argv, err := splitArgv(k.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key(k.key), err)
		}
		// Resolve now so a typo fails at start-up, not at the first failover.
		if argv[0], err = exec.LookPath(argv[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", key(k.key), err)
		}
		if k.state == "" {
			s.notify = argv
		} else {
			s.onState[k.state] = argv
		}
	}
	return s, nil
}

// Deliver runs the state's own script, then the generic notify script, each
// to completion or timeout: keepalived's order. A failure of the first does
// not skip the second.
func (s *scriptSink) Deliver(ctx context.Context, ev Event) error {
	var errs []error
	if argv, ok := s.onState[ev.State]; ok {
		errs = append(errs, s.runOne(ctx, ev, argv))
	}
	if s.notify != nil {
		argv := append(s.notify[:len(s.notify):len(s.notify)], scriptArgs(ev)...)
		errs = append(errs, s.runOne(ctx, ev, argv))
	}
	return errors.Join(errs...)
}

// scriptArgs are the four arguments of a generic notify script:
// keepalived's INSTANCE <name> <state> <priority> for a VRRP transition,
// and the same shape for the node-level events (see Config.Node).
func scriptArgs(ev Event) []string {
	switch ev.Type {
	case TypeHealth:
		return []string{"HEALTH", ev.Check, string(ev.State), ev.Node}
	case TypeLeader:
		return []string{"LEADER", ev.Leader, string(ev.State), ev.Node}
	case TypeQuorum:
		return []string{"QUORUM", "raft", string(ev.State), ev.Node}
	}
	return []string{"INSTANCE", ev.Instance, string(ev.State), strconv.Itoa(ev.Priority)}
}

// scriptEnv is the event as KDCHA_* environment variables, added to the
// agent's environment for every script: what the arguments cannot carry
// (the reason, the previous state, the VIPs) without parsing anything.
func scriptEnv(ev Event) []string {
	vips := make([]string, len(ev.VIPs))
	for i, v := range ev.VIPs {
		vips[i] = v.String()
	}
	// exec refuses a NUL in the environment; a reason quoting a peer's
	// error must not stop the script from running.
	noNUL := strings.NewReplacer("\x00", "")
	return []string{
		"KDCHA_TYPE=" + string(ev.Type),
		"KDCHA_NODE=" + ev.Node,
		"KDCHA_INSTANCE=" + ev.Instance,
		"KDCHA_STATE=" + string(ev.State),
		"KDCHA_PREVIOUS_STATE=" + string(ev.PrevState),
		"KDCHA_PRIORITY=" + strconv.Itoa(ev.Priority),
		"KDCHA_CHECK=" + noNUL.Replace(ev.Check),
		"KDCHA_LEADER=" + noNUL.Replace(ev.Leader),
		"KDCHA_PREVIOUS_LEADER=" + noNUL.Replace(ev.PreviousLeader),
		"KDCHA_REASON=" + noNUL.Replace(ev.Reason),
		"KDCHA_VIPS=" + strings.Join(vips, " "),
		"KDCHA_TIME=" + ev.Time.UTC().Format(time.RFC3339Nano),
		"KDCHA_SEQ=" + strconv.FormatUint(ev.Seq, 10),
	}
}

func (s *scriptSink) runOne(ctx context.Context, ev Event, argv []string) error {
	start := time.Now()
	out, err := run(ctx, argv, scriptEnv(ev), s.timeout, s.grace)
	if err != nil {
		// The dispatcher logs the error; the output is what explains it.
		if len(out) > 0 {
			return fmt.Errorf("%w; output: %q", err, out)
		}
		return err
	}
	s.log.Debug("notify: script ran", "instance", ev.Instance, "seq", ev.Seq,
		"state", ev.State, "argv", argv, "duration", time.Since(start))
	return nil
}
