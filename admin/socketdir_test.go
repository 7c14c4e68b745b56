package admin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nobody is the unprivileged uid the impostor runs as.
const nobody = 65534

func TestListenUnixRefusesUnsafeDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a directory owned by another user")
	}
	cases := []struct {
		name  string
		setup func(dir string) error
		ok    bool
	}{
		{"private", func(dir string) error { return os.Chmod(dir, 0o700) }, true},
		{"world readable", func(dir string) error { return os.Chmod(dir, 0o755) }, true},
		{"world writable", func(dir string) error { return os.Chmod(dir, 0o777) }, false},
		{"group writable", func(dir string) error { return os.Chmod(dir, 0o770) }, false},
		{"sticky world writable", func(dir string) error { return os.Chmod(dir, 0o777|os.ModeSticky) }, false},
		{"owned by another user", func(dir string) error { return os.Chown(dir, nobody, nobody) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := c.setup(dir); err != nil {
				t.Fatal(err)
			}
			l, err := ListenUnix(filepath.Join(dir, "admin.sock"))
			if c.ok {
				if err != nil {
					t.Fatalf("refused a safe directory: %v", err)
				}
				l.Close()
				return
			}
			if !errors.Is(err, ErrUnsafeSocketDir) {
				t.Fatalf("ListenUnix = %v, want ErrUnsafeSocketDir", err)
			}
		})
	}
}

func TestCheckSocketDirAncestors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	base := t.TempDir()
	// A sticky world-writable ancestor (like /tmp) is fine: nobody else
	// can rename what is in it.
	if err := os.Chmod(base, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := CheckSocketDir(filepath.Join(dir, "admin.sock")); err != nil {
		t.Fatalf("sticky ancestor: %v", err)
	}
	// Without the sticky bit anyone can move run away and put their own.
	if err := os.Chmod(base, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := CheckSocketDir(filepath.Join(dir, "admin.sock")); !errors.Is(err, ErrUnsafeSocketDir) || !strings.Contains(err.Error(), base) {
		t.Fatalf("writable ancestor: %v", err)
	}
	if err := CheckSocketDir(filepath.Join(base, "missing", "admin.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing directory: %v", err)
	}
}

// TestClientRefusesImpostor replays the attack: in a world-writable
// directory another user serves admin.sock. The CLI must send it nothing,
// not even the request line, and say why.
func TestClientRefusesImpostor(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the impostor as another user")
	}
	dir, err := os.MkdirTemp("", "kdcha-impostor")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// The impostor is this test binary, copied where nobody may run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "impostor")
	if err := copyFile(self, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "admin.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestImpostorHelper$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KDCHA_IMPOSTOR_SOCKET="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("impostor did not start: %q", lines.Text())
	}

	pw := "new-principal-password"
	_, err = NewClient(sock).Add(ctx, AddRequest{Name: "alice", Password: &pw})
	if !errors.Is(err, ErrUntrustedServer) || !strings.Contains(err.Error(), fmt.Sprintf("uid %d", nobody)) {
		t.Fatalf("client error = %v, want ErrUntrustedServer naming uid %d", err, nobody)
	}
	t.Logf("CLI said: %v", err)
	if !lines.Scan() {
		t.Fatalf("impostor said nothing more: %v", lines.Err())
	}
	if got := lines.Text(); got != "read 0" {
		t.Fatalf("impostor: %q, want it to have read nothing", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("impostor: %v", err)
	}
}

// TestImpostorHelper is the impostor of TestClientRefusesImpostor, run as
// another user: it serves the socket, accepts one connection and reports
// how many bytes the client sent before closing it.
func TestImpostorHelper(t *testing.T) {
	sock := os.Getenv("KDCHA_IMPOSTOR_SOCKET")
	if sock == "" {
		t.Skip("run by TestClientRefusesImpostor")
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fmt.Println("ready")
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("read %d\n", n)
}

func copyFile(from, to string, mode os.FileMode) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, mode)
}
