package db

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"host/a@R", "host/a@R", 0},
		{"höst", "host", 1}, // by rune, not byte
		{"flaw", "lawn", 2},
		{"http/a@r", "HTTP/A@R", 0}, // case is ignored
		{"ab", "abcdefgh", 6},       // buffers grow after a short call
	}
	var e editor
	for _, tt := range tests {
		if got := e.distance([]rune(strings.ToLower(tt.a)), tt.b, 100); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestBoundedEditDistance checks the banded computation against the full
// matrix: distance(a, b, k) is min(d, k+1).
func TestBoundedEditDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = "abcAB/"[rng.IntN(6)]
		}
		return string(b)
	}
	var e editor
	for range 5000 {
		a, b, k := word(), word(), rng.IntN(6)
		want := min(levenshtein(strings.ToLower(a), strings.ToLower(b)), k+1)
		if got := e.distance([]rune(strings.ToLower(a)), b, k); got != want {
			t.Fatalf("distance(%q, %q, %d) = %d, want %d", a, b, k, got, want)
		}
	}
}

// levenshtein is the textbook full-matrix edit distance.
func levenshtein(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
		}
	}
	return d[len(a)][len(b)]
}

// TestSimilarBoundedWork is the regression test for one datagram costing
// seconds of CPU: an unknown 60 KB service name against thousands of
// host/* principals used to be compared with every one of them by a full
// edit distance (0.41 s for 1 KB and 2,000 names, 28 s for 60 KB). The
// work is counted in matrix cells, not timed.
func TestSimilarBoundedWork(t *testing.T) {
	// Names near the longest considered, so that the distances are not
	// cut short by the lengths alone: the worst case.
	pad := strings.Repeat("x", similarMaxName-len("host/node0000..example.com@"+testRealm))
	idx := newIndex(testRealm)
	for i := range 5000 {
		idx.put(&Principal{Name: fmt.Sprintf("host/node%04d.%s.example.com@%s", i, pad, testRealm)}, nil)
	}
	var ed editor
	if got := idx.similar("host/"+strings.Repeat("a", 60<<10)+"@"+testRealm, 3, &ed); got != nil || ed.cells != 0 {
		t.Fatalf("60 KB name: %d suggestions, %d cells computed; want none", len(got), ed.cells)
	}
	// The longest name considered costs at most 2 x 16 comparisons within
	// the band: about half a million cells (a millisecond), not 10^8.
	typo := "host/node2500." + pad + ".exmaple.com@" + testRealm
	ed = editor{}
	got := idx.similar(typo, 1, &ed)
	if bound := 2 * similarNeighbours * similarMaxName * (2*similarMaxDistance + 1); ed.cells == 0 || ed.cells > bound {
		t.Fatalf("%d-byte name: %d cells computed, want 1..%d", len(typo), ed.cells, bound)
	}
	// Bounded is still useful: the neighbours of a mistyped host.
	if want := "host/node2500." + pad + ".example.com@" + testRealm; !slices.Equal(got, []string{want}) {
		t.Fatalf("Similar = %q, want %q", got, want)
	}
}

// TestNameOrder checks the chunked order against a sorted slice through
// inserts, deletes and splits.
func TestNameOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	o := newNameOrder([]string{"b", "A", "c"})
	model := map[string]bool{"b": true, "A": true, "c": true}
	for step := range 20000 {
		name := fmt.Sprintf("%c%d", "aAbBzZ"[rng.IntN(6)], rng.IntN(1500))
		if rng.IntN(3) == 0 {
			o.delete(name)
			delete(model, name)
		} else {
			o.insert(name)
			model[name] = true
		}
		if step%1000 != 0 {
			continue
		}
		var want []foldedName
		for n := range model {
			want = append(want, newFoldedName(n))
		}
		slices.SortFunc(want, compareFolded)
		var got []foldedName
		for _, c := range o.chunks {
			if len(c) == 0 || len(c) > maxChunk {
				t.Fatalf("step %d: chunk of %d names", step, len(c))
			}
			got = append(got, c...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: order differs from the model (%d names, want %d)", step, len(got), len(want))
		}
		// around: the k names before the query's place and the k after.
		q := newFoldedName(fmt.Sprintf("b%d", rng.IntN(1500)))
		at, _ := slices.BinarySearchFunc(want, q, compareFolded)
		var wantNear []string
		for i := at - 1; i >= max(0, at-5); i-- {
			wantNear = append(wantNear, want[i].name)
		}
		for i := at; i < min(len(want), at+5); i++ {
			wantNear = append(wantNear, want[i].name)
		}
		if got := o.around(q.name, 5); !slices.Equal(got, wantNear) {
			t.Fatalf("step %d: around(%q) = %q, want %q", step, q.name, got, wantNear)
		}
	}
	if len(o.chunks) < 3 {
		t.Fatalf("%d chunks: the test never split one", len(o.chunks))
	}
}

func TestSimilar(t *testing.T) {
	idx := newIndex(testRealm)
	for _, p := range []*Principal{
		{Name: "zookeeper/zk1.example.com@" + testRealm},
		{Name: "zookeeper/zk2.example.com@" + testRealm},
		{Name: "zookeeper/zk3.example.com@" + testRealm, Aliases: []string{"zookeeper/10.0.0.7@" + testRealm}},
		{Name: "zookeeper@" + testRealm},
		{Name: "HTTP/web.example.com@" + testRealm},
		{Name: "alice@" + testRealm},
		{Name: "alicia@" + testRealm},
		{Name: "zookeeper/zk1.example.com@OTHER.ORG"},
	} {
		idx.put(p, nil)
	}
	tests := []struct {
		name string
		n    int
		want []string
	}{
		{
			// Same service, different host: the ZooKeeper case, ranked
			// by closeness; the other realm and the one-component name
			// are not "same service".
			"zookeeper/10.0.0.5@" + testRealm, 3,
			[]string{"zookeeper/10.0.0.7@" + testRealm, "zookeeper/zk1.example.com@" + testRealm, "zookeeper/zk2.example.com@" + testRealm},
		},
		{"zookeeper/localhost@" + testRealm, 10, []string{
			"zookeeper/10.0.0.7@" + testRealm, "zookeeper/zk1.example.com@" + testRealm,
			"zookeeper/zk2.example.com@" + testRealm, "zookeeper/zk3.example.com@" + testRealm,
			"zookeeper@" + testRealm, // a plausible typo, after every same-service name
		}},
		{"http/web.example.com@" + testRealm, 2, []string{"HTTP/web.example.com@" + testRealm}},
		{"alise@" + testRealm, 5, []string{"alice@" + testRealm, "alicia@" + testRealm}},
		{"completely-unrelated-name@" + testRealm, 5, []string{}},
		{"alice@" + testRealm, 5, []string{"alicia@" + testRealm}},
		{"alise@" + testRealm, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := idx.Similar(tt.name, tt.n)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Similar = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIndexConcurrentReaders(t *testing.T) {
	idx := newIndex(testRealm)
	const names = 50
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < names; i++ {
					if p, ok := idx.Lookup(fmt.Sprintf("u%d@%s", i, testRealm)); ok && p.KVNO() == 0 {
						t.Error("principal without keys in the index")
					}
				}
				idx.list()
				idx.Similar("u1@"+testRealm, 3)
			}
		}()
	}
	for v := uint32(1); v <= 20; v++ {
		ps := make([]*Principal, 0, names)
		for i := 0; i < names; i++ {
			p := &Principal{Name: fmt.Sprintf("u%d@%s", i, testRealm), Keys: []Key{{EType: 18, KVNO: v}}}
			idx.put(p, nil)
			ps = append(ps, p)
		}
		idx.replace(ps)
		idx.remove(ps[0].Name, nil)
	}
	close(stop)
	wg.Wait()
	if len(idx.list()) != names-1 {
		t.Fatalf("%d principals left, want %d", len(idx.list()), names-1)
	}
}
