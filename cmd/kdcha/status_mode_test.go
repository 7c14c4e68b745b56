package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kdcha/kdcha/admin"
)

// TestStatusShowsMode: `kdcha status` says when a node runs no KDC of its
// own (mode keepalived).
func TestStatusShowsMode(t *testing.T) {
	var b bytes.Buffer
	printNodeView(&b, admin.NodeStatus{Node: "kdc1", Realm: "R", Mode: "keepalived"})
	if !strings.Contains(b.String(), "mode keepalived\n") {
		t.Fatalf("status output\n%s\nlacks the mode", b.String())
	}
}
