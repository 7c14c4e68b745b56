package db

import (
	_ "embed"
	"strings"
)

// commonPasswordList is a built-in list of the passwords most often found
// in leaked password sets (and their common variants), one per line, in
// lower case. Every policy refuses them unless it allows common
// passwords: they are the first guesses of any password-spraying attack.
//
//go:embed commonpasswords.txt
var commonPasswordList string

var commonPasswords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, w := range strings.Fields(commonPasswordList) {
		m[w] = struct{}{}
	}
	return m
}()

// isCommonPassword reports whether pw is on the list, ignoring case.
func isCommonPassword(pw string) bool {
	_, ok := commonPasswords[strings.ToLower(pw)]
	return ok
}
