package db

import (
	"fmt"
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
		if got := e.distance([]rune(strings.ToLower(tt.a)), tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
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
