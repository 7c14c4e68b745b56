package health

import (
	"errors"
	"fmt"
)

// Sentinel errors, checkable with errors.Is on Result.Err.
var (
	// ErrNoReply is wrapped by every timeout of a KDC exchange: nothing (or
	// nothing complete) came back before the deadline.
	ErrNoReply = errors.New("no reply")
	// ErrScriptTimeout is wrapped by the failure of a script that outlived
	// its timeout.
	ErrScriptTimeout = errors.New("script timed out")
)

// FailureKind says why a run failed, in the terms an operator needs.
type FailureKind int

// Failure kinds.
const (
	// KindNone: the run succeeded.
	KindNone FailureKind = iota
	// KindTimeout: no (complete) answer before the deadline, which is what
	// a hung or frozen KDC or a black-holed port looks like.
	KindTimeout
	// KindKRBError: the KDC answered with a KRB-ERROR (see *KRBError).
	KindKRBError
	// KindBadReply: the KDC answered something that is not a valid reply to
	// our request (garbage, wrong nonce or name, does not decrypt).
	KindBadReply
	// KindNetwork: the exchange failed at the socket level, e.g. connection
	// refused because nothing listens on the port.
	KindNetwork
	// KindConfig: the probe could not even be attempted (missing keytab, no
	// key for the principal, script not found).
	KindConfig
	// KindExit: a script exited non-zero or was killed by a signal it was
	// not sent by us.
	KindExit
	// KindOther: an error not produced by this package.
	KindOther
)

var kindNames = map[FailureKind]string{
	KindNone:     "ok",
	KindTimeout:  "timeout",
	KindKRBError: "krb-error",
	KindBadReply: "bad-reply",
	KindNetwork:  "network",
	KindConfig:   "config",
	KindExit:     "exit",
	KindOther:    "other",
}

// String returns the short name used in logs, reasons and metric labels.
func (k FailureKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// CheckError is the error of a failed run: its kind, the step that failed
// (e.g. "as-req", "as-req+preauth", "tgs-req", "exec") and the cause.
type CheckError struct {
	Kind FailureKind
	Step string
	Err  error
}

// Error implements error.
func (e *CheckError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.Kind, e.Step, e.Err)
}

// Unwrap returns the cause, so errors.As finds a *KRBError or *ExitError.
func (e *CheckError) Unwrap() error { return e.Err }

// KRBError is a KRB-ERROR returned by the KDC.
type KRBError struct {
	// Code is the Kerberos error code (e.g. 24 KDC_ERR_PREAUTH_FAILED).
	Code int32
	// Name is the symbolic name of the code, with its description.
	Name string
	// Text is the e-text the KDC sent, if any.
	Text string
}

// Error implements error.
func (e *KRBError) Error() string {
	if e.Text != "" {
		return fmt.Sprintf("KRB-ERROR %s: %s", e.Name, e.Text)
	}
	return "KRB-ERROR " + e.Name
}

// ExitError is a script that exited non-zero or died from a signal.
type ExitError struct {
	// Code is the exit status, or -1 when killed by a signal.
	Code int
	// Signal names the signal that killed the process, if any.
	Signal string
	// Stderr is the tail of what the script wrote to stderr.
	Stderr string
}

// Error implements error.
func (e *ExitError) Error() string {
	msg := fmt.Sprintf("exit status %d", e.Code)
	if e.Signal != "" {
		msg = "killed by " + e.Signal
	}
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func failure(kind FailureKind, step string, err error) error {
	return &CheckError{Kind: kind, Step: step, Err: err}
}

// wrapStep fills in the step of a failure built by a helper that does not
// know which step of the exchange it serves.
func wrapStep(err error, step string) error {
	var ce *CheckError
	if errors.As(err, &ce) && ce.Step == "" {
		ce.Step = step
	}
	return err
}
