package scenario

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"
)

// Build compiles cmd/kdcha of this module into dir and returns the
// binary's path. It runs the go tool, so it needs the source tree (tests
// and the scenario table run from it).
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "kdcha")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/kdcha/kdcha/cmd/kdcha").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build kdcha: %w\n%s", err, out)
	}
	return bin, nil
}
