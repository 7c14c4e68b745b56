package notify

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/kdcha/kdcha/internal/filecheck"
)

// CheckFiles checks what Validate leaves to the file system, so that New
// and the first transition find what the configuration promises: each
// secret_file holds a secret and only its owner can access it, and each
// script program (instance scripts and the node script) is an absolute
// path to an executable file. Messages name the key, as Validate's do;
// all problems are reported, joined.
func (c Config) CheckFiles() error {
	var errs []error
	for i, w := range c.Webhooks {
		if w.SecretFile == "" {
			continue
		}
		key := fmt.Sprintf("notify.webhooks[%d].secret_file", i)
		// Private first: it also refuses a device or FIFO, which reading
		// would never finish.
		if err := filecheck.Private(w.SecretFile); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		} else if _, err := readSecretFile(w.SecretFile); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	instances := make([]string, 0, len(c.Scripts))
	for name := range c.Scripts {
		instances = append(instances, name)
	}
	sort.Strings(instances)
	for _, name := range instances {
		for _, k := range c.Scripts[name].all() {
			argv, err := splitArgv(k.value)
			if err != nil || len(argv) == 0 {
				continue // reported by Validate
			}
			if err := filecheck.Executable(argv[0]); err != nil {
				errs = append(errs, fmt.Errorf("notify.scripts.%s.%s: %w", name, k.key, err))
			}
		}
	}
	if argv, err := splitArgv(c.Node); err == nil && len(argv) > 0 {
		if err := filecheck.Executable(argv[0]); err != nil {
			errs = append(errs, fmt.Errorf("notify.node: %w", err))
		}
	}
	return errors.Join(errs...)
}

// readSecretFile returns the webhook key held in a secret_file: its first
// line only, so a trailing newline from an editor or "echo" does not
// become part of the key.
func readSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	secret := []byte(strings.TrimRight(line, "\r"))
	if len(secret) == 0 {
		return nil, fmt.Errorf("%s: empty secret", path)
	}
	return secret, nil
}
