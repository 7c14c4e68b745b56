// Package filecheck holds the file-system checks a configuration is put
// through before the agent serves: a secret or key file that only its owner
// can read, and a program that can be run without a PATH lookup. Each
// section's CheckFiles uses them, so every key naming a file gets the same
// rule and the same words. Tested with files made in a temporary
// directory.
package filecheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotAbsolute means a program is named by a bare or relative path,
// which would run whatever PATH or the working directory offers when the
// agent starts, not what the operator checked.
var ErrNotAbsolute = errors.New("not an absolute path")

// Private checks that path is a regular file that group and others can
// neither read nor write: a secret anyone on the host can read is no
// secret, and one they can write lets them sign or decrypt as the node.
func Private(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
	}
	if perm := fi.Mode().Perm(); perm&0o066 != 0 {
		return fmt.Errorf("%s is accessible to group or others (%v); chmod go-rw %s", path, perm, path)
	}
	return nil
}

// Executable checks that path is absolute and names a regular file with an
// execute bit, the way exec will find it at the first failover, not just
// when the agent starts.
func Executable(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%q: %w (a program must not depend on PATH or the working directory)", path, ErrNotAbsolute)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable (%v); chmod +x %s", path, fi.Mode().Perm(), path)
	}
	return nil
}
