package notify

import (
	"context"
	"slices"
)

// Sink delivers events to one receiver. The Dispatcher calls Deliver for one
// event of an instance at a time, in Publish order, from a goroutine of its
// own, so Deliver may block for as long as its own timeouts allow. It must
// return promptly once ctx is cancelled, which happens when Close runs out of
// time.
type Sink interface {
	Deliver(ctx context.Context, ev Event) error
}

// Target is a Sink as the Dispatcher runs it.
type Target struct {
	// Name identifies the sink in logs and in the "sink" metric label. It
	// must be unique within a Dispatcher.
	Name string
	// Sink receives the events.
	Sink Sink
	// QueueSize bounds the events waiting per instance; when full the oldest
	// waiting event of that instance is dropped, so the newest state always
	// gets through. Values below 1 mean 1.
	QueueSize int
	// Instance, when set, restricts the target to that instance's events.
	Instance string
	// Types, when set, restricts the target to events of these types.
	Types []Type
}

// wants reports whether the target takes ev.
func (t *Target) wants(ev Event) bool {
	return (t.Instance == "" || t.Instance == ev.Instance) && (t.Types == nil || slices.Contains(t.Types, ev.Type))
}
