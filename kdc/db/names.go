package db

import (
	"fmt"
	"strings"
)

// checkCanonical accepts only a name already in canonical form in realm:
// what the FSM and the index store. Proposers canonicalise first; this
// catches a proposer that did not.
func checkCanonical(name, realm string) error {
	canon, err := CanonicalName(name, realm)
	if err != nil {
		return err
	}
	if canon != name || !strings.HasSuffix(name, "@"+realm) {
		return fmt.Errorf("%w: %q is not a canonical name in realm %s", ErrInvalidName, name, realm)
	}
	return nil
}
