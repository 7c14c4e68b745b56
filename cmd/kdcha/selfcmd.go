package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// selfCommand is how a user can run this very executable again from a
// shell, for banners that say what to type next: "kdcha" when PATH finds
// this executable under that name, "go run ./cmd/kdcha" when it is a
// temporary binary of `go run` (gone when it exits, and nothing named
// kdcha is installed), otherwise its absolute path. exe is
// os.Executable's answer; lookPath is exec.LookPath.
func selfCommand(exe string, lookPath func(string) (string, error)) string {
	if exe == "" {
		return "kdcha"
	}
	// go run builds into $GOTMPDIR/go-buildNNN/bNNN/exe/NAME.
	if filepath.Base(filepath.Dir(exe)) == "exe" && strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/kdcha"
	}
	name := filepath.Base(exe)
	if found, err := lookPath(name); err == nil && sameFile(found, exe) {
		return name
	}
	return shellQuote(exe)
}

// runningCommand is selfCommand for the running process.
func runningCommand() string {
	exe, err := os.Executable()
	if err != nil {
		exe = "" // the banner then says plain kdcha
	}
	return selfCommand(exe, exec.LookPath)
}

func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// path-safe characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
