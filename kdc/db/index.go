package db

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// index is the in-memory Reader the KDC uses: decrypted principals by
// canonical name and by alias. Principals are immutable; a change replaces
// the pointer, so the lock covers only map access, never crypto or I/O.
type index struct {
	realm string

	mu     sync.RWMutex
	byName map[string]*Principal // canonical names and aliases
}

var _ Reader = (*index)(nil)

func newIndex(realm string) *index {
	return &index{realm: realm, byName: map[string]*Principal{}}
}

// Realm implements Reader.
func (x *index) Realm() string { return x.realm }

// Lookup implements Reader.
func (x *index) Lookup(name string) (*Principal, bool) {
	x.mu.RLock()
	p, ok := x.byName[name]
	x.mu.RUnlock()
	return p, ok
}

// put inserts or replaces p, dropping aliases the previous version had.
func (x *index) put(p *Principal, oldAliases []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, a := range oldAliases {
		delete(x.byName, a)
	}
	x.byName[p.Name] = p
	for _, a := range p.Aliases {
		x.byName[a] = p
	}
}

// remove drops a principal and its aliases.
func (x *index) remove(name string, aliases []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.byName, name)
	for _, a := range aliases {
		delete(x.byName, a)
	}
}

// replace swaps the whole content in one step (snapshot restore).
func (x *index) replace(ps []*Principal) {
	m := make(map[string]*Principal, len(ps))
	for _, p := range ps {
		m[p.Name] = p
		for _, a := range p.Aliases {
			m[a] = p
		}
	}
	x.mu.Lock()
	x.byName = m
	x.mu.Unlock()
}

// list returns every principal once, sorted by canonical name.
func (x *index) list() []*Principal {
	x.mu.RLock()
	ps := make([]*Principal, 0, len(x.byName))
	for n, p := range x.byName {
		if n == p.Name {
			ps = append(ps, p)
		}
	}
	x.mu.RUnlock()
	slices.SortFunc(ps, func(a, b *Principal) int { return strings.Compare(a.Name, b.Name) })
	return ps
}

// names returns all canonical names and aliases, unsorted.
func (x *index) names() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Collect(maps.Keys(x.byName))
}

// Similar implements Reader. Names of the same service in the same realm
// whose instance differs (zookeeper/10.0.0.5@R asked, zookeeper/zk1@R
// known) come first, because that is the usual cause of an unknown server
// name: the client canonicalized the host differently than the keytab.
// Other names follow by edit distance, ignoring case, if they are close
// enough to be a plausible typo. Cost is linear in the number of names, so
// callers on the request path should rate-limit it.
func (x *index) Similar(name string, n int) []string {
	if n <= 0 {
		return nil
	}
	type cand struct {
		name    string
		service bool
		dist    int
	}
	// Names in the index are canonical (no "@" or "/" in the realm), so
	// "same service" is a prefix, a suffix and a component count.
	var svcPrefix, realmSuffix string
	slashes := -1
	if comps, realm, err := ParseName(name, x.realm); err == nil && len(comps) > 1 {
		svcPrefix, realmSuffix, slashes = comps[0]+"/", "@"+realm, len(comps)-1
	}
	var ed editor
	query := []rune(strings.ToLower(name))
	limit := max(3, len(name)/3)
	var cands []cand
	for _, c := range x.names() {
		if c == name {
			continue
		}
		if slashes > 0 && strings.HasPrefix(c, svcPrefix) && strings.HasSuffix(c, realmSuffix) && strings.Count(c, "/") == slashes {
			cands = append(cands, cand{name: c, service: true, dist: ed.distance(query, c)})
			continue
		}
		if d := len(c) - len(name); d > limit || -d > limit {
			continue
		}
		if d := ed.distance(query, c); d <= limit {
			cands = append(cands, cand{name: c, dist: d})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.service != b.service {
			if a.service {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.dist, b.dist), strings.Compare(a.name, b.name))
	})
	out := make([]string, 0, min(n, len(cands)))
	for _, c := range cands[:min(n, len(cands))] {
		out = append(out, c.name)
	}
	return out
}

// editor computes Levenshtein distances by rune, ignoring case, reusing
// its buffers across calls (Similar compares one name with thousands).
type editor struct {
	b         []rune
	prev, cur []int
}

// distance is the edit distance between a (already lower-case) and b.
func (e *editor) distance(a []rune, b string) int {
	e.b = e.b[:0]
	for _, r := range b {
		e.b = append(e.b, unicode.ToLower(r))
	}
	e.prev = slices.Grow(e.prev[:0], len(e.b)+1)[:len(e.b)+1]
	e.cur = slices.Grow(e.cur[:0], len(e.b)+1)[:len(e.b)+1]
	for j := range e.prev {
		e.prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		e.cur[0] = i
		for j := 1; j <= len(e.b); j++ {
			cost := 1
			if a[i-1] == e.b[j-1] {
				cost = 0
			}
			e.cur[j] = min(e.prev[j]+1, e.cur[j-1]+1, e.prev[j-1]+cost)
		}
		e.prev, e.cur = e.cur, e.prev
	}
	return e.prev[len(e.b)]
}
