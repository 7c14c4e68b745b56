package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
)

// TestStatusShowsDroppedAdverts: a peer whose adverts are all dropped (a
// keepalived with authentication) is a likely split brain, so `kdcha
// status` names it under the instance table.
func TestStatusShowsDroppedAdverts(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := admin.NodeStatus{Node: "kdc1", Realm: "R", VRRP: []admin.InstanceStatus{{
		Name: "VI_KDC", State: "MASTER", Priority: 150, Since: since,
		Dropped: []admin.DroppedAdverts{{Reason: "auth type mismatch", From: "192.0.2.2", Count: 7, Last: since.Add(time.Minute)}},
	}}}
	var b bytes.Buffer
	printNodeView(&b, v)
	want := "VI_KDC: adverts dropped: auth type mismatch from 192.0.2.2 (7, last 2026-01-01T00:01:00Z)"
	if !strings.Contains(b.String(), want) {
		t.Fatalf("status output\n%s\nlacks %q", b.String(), want)
	}
}
