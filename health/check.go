package health

import (
	"errors"
	"fmt"

	"github.com/kdcha/kdcha/internal/filecheck"
)

// CheckFiles checks what Validate leaves to the file system, so that a
// check does not start failing only once the agent runs: a kinit check's
// keytab exists and only its owner can access it, and a script check's
// program is an absolute path to an executable file. Call it after
// ApplyDefaults; messages name the key, as Validate's do.
func (c *Config) CheckFiles() error {
	var errs []error
	for i, cc := range c.Checks {
		key := fmt.Sprintf("health.checks[%d]", i)
		switch {
		case cc.Type == CheckKinit && cc.Keytab != "":
			if err := filecheck.Private(cc.Keytab); err != nil {
				errs = append(errs, fmt.Errorf("%s.keytab: %w", key, err))
			}
		case cc.Type == CheckScript && len(cc.Script) > 0 && cc.Script[0] != "":
			if err := filecheck.Executable(cc.Script[0]); err != nil {
				errs = append(errs, fmt.Errorf("%s.script: %w", key, err))
			}
		}
	}
	return errors.Join(errs...)
}
