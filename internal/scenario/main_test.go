package scenario

import (
	"fmt"
	"os"
	"testing"
)

// kdchaBin is the agent under test, built once for the package's tests.
var kdchaBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kdcha-scenario")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kdchaBin, err = Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
