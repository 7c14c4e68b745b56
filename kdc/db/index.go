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
	order  nameOrder             // the keys of byName, for Similar
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
		x.order.delete(a)
	}
	x.byName[p.Name] = p
	x.order.insert(p.Name)
	for _, a := range p.Aliases {
		x.byName[a] = p
		x.order.insert(a)
	}
}

// remove drops a principal and its aliases.
func (x *index) remove(name string, aliases []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.byName, name)
	x.order.delete(name)
	for _, a := range aliases {
		delete(x.byName, a)
		x.order.delete(a)
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
	order := newNameOrder(slices.Collect(maps.Keys(m)))
	x.mu.Lock()
	x.byName, x.order = m, order
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

// Limits of Similar, which runs on the KDC's request path for every
// unknown service name: its cost is bounded whatever the name's length
// and the realm's size.
const (
	// similarMaxName is the longest name Similar considers, as a query or
	// as a candidate (a DNS name has at most 253 bytes).
	similarMaxName = 255
	// similarNeighbours is how many names Similar compares on each side of
	// the query in case-insensitive order.
	similarNeighbours = 16
	// similarMaxDistance caps the edit distances computed: names further
	// apart rank as equally far.
	similarMaxDistance = 32
)

// Similar implements Reader. Names of the same service in the same realm
// whose instance differs (zookeeper/10.0.0.5@R asked, zookeeper/zk1@R
// known) come first, because that is the usual cause of an unknown server
// name: the client canonicalized the host differently than the keytab.
// Other names follow by edit distance, ignoring case, if they are close
// enough to be a plausible typo.
//
// Only the similarNeighbours names on each side of the query in
// case-insensitive order are compared (the names of one service are
// contiguous there, and so are a name and its misspelling past the first
// letters), distances are computed up to similarMaxDistance, and names
// longer than similarMaxName bytes are not compared at all: one query
// costs at most 2 x 16 comparisons of 255 x 65 cells.
func (x *index) Similar(name string, n int) []string {
	var ed editor
	return x.similar(name, n, &ed)
}

func (x *index) similar(name string, n int, ed *editor) []string {
	if n <= 0 || len(name) > similarMaxName {
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
	x.mu.RLock()
	near := x.order.around(name, similarNeighbours)
	x.mu.RUnlock()
	query := []rune(strings.ToLower(name))
	limit := min(max(3, len(name)/3), similarMaxDistance)
	var cands []cand
	for _, c := range near {
		if c == name || len(c) > similarMaxName {
			continue
		}
		if slashes > 0 && strings.HasPrefix(c, svcPrefix) && strings.HasSuffix(c, realmSuffix) && strings.Count(c, "/") == slashes {
			cands = append(cands, cand{name: c, service: true, dist: ed.distance(query, c, similarMaxDistance)})
			continue
		}
		if d := ed.distance(query, c, limit); d <= limit {
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
// its buffers across calls (Similar compares one name with several).
type editor struct {
	b         []rune
	prev, cur []int
	// cells counts the matrix cells computed, the cost of the comparisons
	// (tests bound it).
	cells int
}

// distance is the edit distance between a (already lower-case) and b, or
// k+1 if it is more than k. Only the cells within k of the diagonal are
// computed (any path leaving that band costs more than k), and it stops
// as soon as a whole row is over k: O(len(a) x (2k+1)) at worst.
func (e *editor) distance(a []rune, b string, k int) int {
	e.b = e.b[:0]
	for _, r := range b {
		e.b = append(e.b, unicode.ToLower(r))
	}
	la, lb := len(a), len(e.b)
	far := k + 1
	if la-lb > k || lb-la > k {
		return far
	}
	e.prev = slices.Grow(e.prev[:0], lb+2)[:lb+2]
	e.cur = slices.Grow(e.cur[:0], lb+2)[:lb+2]
	for j := range e.prev {
		e.prev[j] = min(j, far)
	}
	for i := 1; i <= la; i++ {
		lo, hi := max(1, i-k), min(lb, i+k)
		e.cur[lo-1] = far
		if lo == 1 {
			e.cur[0] = min(i, far)
		}
		rowMin := e.cur[lo-1]
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == e.b[j-1] {
				cost = 0
			}
			v := min(e.prev[j]+1, e.cur[j-1]+1, e.prev[j-1]+cost, far)
			e.cur[j] = v
			rowMin = min(rowMin, v)
		}
		e.cells += hi - lo + 1
		e.cur[hi+1] = far // the next row reads one cell past this band
		if rowMin >= far {
			return far
		}
		e.prev, e.cur = e.cur, e.prev
	}
	return e.prev[lb]
}
