package procsock

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestListeningSeesEachKind(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	path := filepath.Join(t.TempDir(), "s.sock")
	unix, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close()
	// A connected client socket is not a listener.
	client, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	got, err := Listening(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []Socket{
		{"tcp", tcp.Addr().String()},
		{"udp", udp.LocalAddr().String()},
		{"unix", path},
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %v in %v", want, got)
		}
	}
	if slices.Contains(got, Socket{"tcp", client.LocalAddr().String()}) {
		t.Errorf("client socket %v listed as listening: %v", client.LocalAddr(), got)
	}
}

func TestParseHexAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:0058":                         "127.0.0.1:88",
		"00000000000000000000000001000000:1F90": "[::1]:8080",
		"0000000000000000FFFF00000100007F:0058": "127.0.0.1:88",
	} {
		got, err := parseHexAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("parseHexAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "zz:0058", "0100007F", "0100007F:zzzzz", "01:0058"} {
		if _, err := parseHexAddr(bad); err == nil {
			t.Errorf("parseHexAddr(%q) succeeded", bad)
		}
	}
}
