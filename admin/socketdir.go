package admin

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrUnsafeSocketDir means another user could replace the admin socket:
// its directory, or a directory above it, is writable by someone other
// than root and the serving user.
var ErrUnsafeSocketDir = errors.New("admin socket directory is not safe")

// ErrUntrustedServer means the process answering on the admin socket is
// neither root nor the owner of the socket's directory, so the client sent
// it nothing (it may be another user's impostor waiting for a password).
var ErrUntrustedServer = errors.New("admin socket served by an untrusted user")

// CheckSocketDir reports whether the admin socket at path may be served by
// this process: the socket's directory must be owned by root or the
// effective uid and writable by nobody else (mode 0700 or 0755; sticky does
// not help, since anyone could create the socket while the agent is down),
// and every directory above it must be owned by root or the effective uid
// and not writable by group or others unless sticky (as /tmp), so no other
// user can rename the directory away and put their own in its place.
// A missing directory gives an error wrapping fs.ErrNotExist.
func CheckSocketDir(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("admin socket %s: %w", path, err)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return fmt.Errorf("admin socket %s: directory: %w", path, err)
	}
	uid := uint32(os.Geteuid())
	for d, first := dir, true; ; d, first = filepath.Dir(d), false {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("admin socket %s: %w", path, err)
		}
		owner := ownerOf(fi)
		writable := fi.Mode().Perm()&0o022 != 0 && (first || fi.Mode()&fs.ModeSticky == 0)
		switch {
		case owner != 0 && owner != uid:
			return fmt.Errorf("%w: %s: directory %s is owned by uid %d, not root or uid %d (this process), so that user could replace the socket", ErrUnsafeSocketDir, path, d, owner, uid)
		case writable:
			return fmt.Errorf("%w: %s: directory %s is writable by group or others (%v), so another user could replace the socket; use a directory only root or uid %d can write (chmod go-w %s)", ErrUnsafeSocketDir, path, d, fi.Mode(), uid, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// checkPeer refuses a connection to the admin socket at path unless the
// process serving it (SO_PEERCRED, recorded by the kernel when it called
// listen) runs as root or as the owner of the socket's directory. The
// socket file's own owner proves nothing: whoever replaced the socket owns
// the replacement. The directory owner is the user CheckSocketDir made the
// server verify.
func checkPeer(c net.Conn, path string) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("admin socket %s: not a unix socket connection", path)
	}
	cred, err := peerCred(uc)
	if err != nil {
		return fmt.Errorf("admin socket %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("admin socket %s: %w", path, err)
	}
	if owner := ownerOf(fi); cred.Uid != 0 && cred.Uid != owner {
		return fmt.Errorf("%w: %s is served by uid %d (pid %d), which is neither root nor uid %d that owns %s; nothing was sent (someone may have replaced the socket: check the directory's permissions)",
			ErrUntrustedServer, path, cred.Uid, cred.Pid, owner, dir)
	}
	return nil
}

// peerCred returns the credentials of the process at the other end of c,
// as the kernel recorded them when it connected (client) or listened
// (server).
func peerCred(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	if credErr != nil {
		return nil, fmt.Errorf("peer credentials: %w", credErr)
	}
	return cred, nil
}

// ownerOf returns the uid owning a file, or an impossible uid (trusted by
// no check) if the platform does not say.
func ownerOf(fi fs.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return math.MaxUint32
}
