package vrrp

import (
	"context"
	"net/netip"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/kdcha/kdcha/internal/netnstest"
)

// nftSnippet is the ready nftables rule set shipped for VRRP; its sample
// values (eth0, peers 192.0.2.1 and .2) fit netnstest's LAN as they are.
const nftSnippet = "../deploy/nftables-vrrp.nft"

// TestNftablesSnippetDropsForgedAdverts loads deploy/nftables-vrrp.nft on a
// node (twice: reloading must work) and checks that adverts from a host
// that is not a listed peer never reach a VRRP socket while a peer's do.
func TestNftablesSnippetDropsForgedAdverts(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft (Debian package nftables)")
	}
	lan := netnstest.NewLAN(t, 3) // 192.0.2.1 and .2 are peers, .3 is not
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, args := range [][]string{{"-c", "-f", nftSnippet}, {"-f", nftSnippet}, {"-f", nftSnippet}} {
		if out, err := lan[1].Command(ctx, "nft", args...).CombinedOutput(); err != nil {
			t.Fatalf("nft %v: %v\n%s", args, err, out)
		}
	}
	var conn *Conn
	if err := lan[1].Do(func() (err error) {
		conn, err = ListenIPv4(lan[1].Interface, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	f := newForger(t, lan[2])
	p := Packet{Version: Version3, VRID: 51, Priority: 50, Interval: 100 * time.Millisecond,
		Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	for range 20 {
		f.send(t, lan[2].Addr.Addr(), p)
	}
	// Then one in a peer's name: the bridge keeps the order, so it is the
	// first thing the socket gets if the forged ones were dropped.
	peer := lan[0].Addr.Addr()
	f.send(t, peer, p)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r, err := conn.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if r.Src != peer {
		t.Fatalf("first advert received from %v, want the peer %v: the forged ones got through", r.Src, peer)
	}
	out, err := lan[1].Command(ctx, "nft", "list", "chain", "inet", "kdcha_vrrp", "input").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`counter packets (\d+)`).FindStringSubmatch(string(out)); m == nil || m[1] != "20" {
		t.Fatalf("drop counter: %q, want 20 packets\n%s", m, out)
	}
}
