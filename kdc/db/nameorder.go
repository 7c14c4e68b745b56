package db

import (
	"cmp"
	"slices"
	"sort"
	"strings"
)

// nameOrder keeps names sorted case-insensitively, so that Similar looks
// at the few names next to a query instead of at every name in the realm:
// the names of one service are contiguous, and a typo late in a name lands
// next to the name it misspells.
//
// It is a list of sorted chunks of at most maxChunk names. An insert or a
// delete moves at most one chunk's entries (and, at a split, the list of
// chunks), where one sorted slice would move every name on every write and
// make replaying a Raft log of n creations cost n² moves.
type nameOrder struct {
	chunks [][]foldedName
}

// foldedName is a name with its lower-case form, the sort key.
type foldedName struct{ fold, name string }

func newFoldedName(name string) foldedName {
	return foldedName{fold: strings.ToLower(name), name: name}
}

func compareFolded(a, b foldedName) int {
	return cmp.Or(strings.Compare(a.fold, b.fold), strings.Compare(a.name, b.name))
}

// maxChunk bounds the names one insert or delete moves.
const maxChunk = 512

// newNameOrder sorts names (which must be distinct) into half-full chunks.
func newNameOrder(names []string) nameOrder {
	all := make([]foldedName, len(names))
	for i, n := range names {
		all[i] = newFoldedName(n)
	}
	slices.SortFunc(all, compareFolded)
	var o nameOrder
	for len(all) > 0 {
		n := min(len(all), maxChunk/2)
		o.chunks = append(o.chunks, all[:n:n])
		all = all[n:]
	}
	return o
}

// find returns the position of the first entry not less than k: a chunk
// index (len(chunks) when every entry is less) and an index in that chunk.
func (o *nameOrder) find(k foldedName) (int, int) {
	i := sort.Search(len(o.chunks), func(i int) bool {
		c := o.chunks[i]
		return compareFolded(c[len(c)-1], k) >= 0
	})
	if i == len(o.chunks) {
		return i, 0
	}
	j, _ := slices.BinarySearchFunc(o.chunks[i], k, compareFolded)
	return i, j
}

// insert adds name; adding a present name changes nothing.
func (o *nameOrder) insert(name string) {
	k := newFoldedName(name)
	if len(o.chunks) == 0 {
		o.chunks = [][]foldedName{{k}}
		return
	}
	i, j := o.find(k)
	if i == len(o.chunks) {
		i = len(o.chunks) - 1
		j = len(o.chunks[i])
	} else if o.chunks[i][j] == k {
		return
	}
	c := slices.Insert(o.chunks[i], j, k)
	if len(c) <= maxChunk {
		o.chunks[i] = c
		return
	}
	half := len(c) / 2
	o.chunks[i] = c[:half:half]
	o.chunks = slices.Insert(o.chunks, i+1, slices.Clone(c[half:]))
}

// delete removes name if present.
func (o *nameOrder) delete(name string) {
	k := newFoldedName(name)
	i, j := o.find(k)
	if i == len(o.chunks) || o.chunks[i][j] != k {
		return
	}
	o.chunks[i] = slices.Delete(o.chunks[i], j, j+1)
	if len(o.chunks[i]) == 0 {
		o.chunks = slices.Delete(o.chunks, i, i+1)
	}
}

// around returns up to k names sorting before name and up to k sorting at
// or after it: the only names Similar compares.
func (o *nameOrder) around(name string, k int) []string {
	ci, cj := o.find(newFoldedName(name))
	out := make([]string, 0, 2*k)
	for i, j := ci, cj; len(out) < k; {
		for j == 0 && i > 0 {
			i--
			j = len(o.chunks[i])
		}
		if j == 0 {
			break
		}
		j--
		out = append(out, o.chunks[i][j].name)
	}
	before := len(out)
	for i, j := ci, cj; len(out) < before+k && i < len(o.chunks); {
		if j == len(o.chunks[i]) {
			i, j = i+1, 0
			continue
		}
		out = append(out, o.chunks[i][j].name)
		j++
	}
	return out
}
