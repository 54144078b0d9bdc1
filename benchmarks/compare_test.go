package benchmarks

import (
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// built is a contender ready to send requests.
type built struct {
	name string
	rt   http.RoundTripper
	stop func()
}

func buildAll(cs []contender, s setup) []built {
	out := make([]built, len(cs))
	for i, c := range cs {
		rt, stop := c.build(s)
		out[i] = built{c.name, rt, stop}
	}
	return out
}

func stopAll(bs []built) {
	for _, b := range bs {
		b.stop()
	}
}

// runBlock sends n requests through rt, on the calling goroutine when g is
// 0, else spread over g goroutines that start together, and returns the
// wall time. It panics on a failed request: the harness must be sound.
func runBlock(rt http.RoundTripper, req *http.Request, g, n int) time.Duration {
	if g == 0 {
		start := time.Now()
		for range n {
			mustOK(do(rt, req))
		}
		return time.Since(start)
	}
	g = min(g, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range g {
		share := n / g
		if i < n%g {
			share++
		}
		wg.Go(func() {
			<-gate
			for range share {
				mustOK(do(rt, req))
			}
		})
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	return time.Since(start)
}

func mustOK(status int, err error) {
	if err != nil || status != http.StatusOK {
		panic("benchmarks: request failed: status " + http.StatusText(status) + ", " + errText(err))
	}
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// allocsPerRequest counts what one request through rt allocates, averaged
// over n serial requests.
func allocsPerRequest(rt http.RoundTripper, req *http.Request, n int) (allocs, bytes float64) {
	runBlock(rt, req, 0, 16) // warm up pools and caches
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	runBlock(rt, req, 0, n)
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n), float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// compareInOneRun measures every contender in the same run, alternating
// them in blocks of block requests (rotating which goes first), so that
// drift of the machine hits all of them alike. b.N counts requests per
// contender. It reports, for the contender named main: ns/op, B/op and
// allocs/op, and its time as a ratio to each other contender (x-<name>);
// for the others their ns/req and allocs/req; and floor's time as a ratio
// to oauth2's (floor-x-oauth2).
func compareInOneRun(b *testing.B, bs []built, main string, req *http.Request, g, block int) {
	b.ReportAllocs()
	allocs := make([]float64, len(bs))
	bytes := make([]float64, len(bs))
	for i, c := range bs {
		allocs[i], bytes[i] = allocsPerRequest(c.rt, req, 2000)
	}
	times := make([]time.Duration, len(bs))
	b.ResetTimer()
	for done, round := 0, 0; done < b.N; round++ {
		k := min(block, b.N-done)
		for j := range bs {
			i := (j + round) % len(bs)
			times[i] += runBlock(bs[i].rt, req, g, k)
		}
		done += k
	}
	b.StopTimer()
	m := -1
	for i, c := range bs {
		if c.name == main {
			m = i
		}
	}
	perReq := func(i int) float64 { return float64(times[i].Nanoseconds()) / float64(b.N) }
	b.ReportMetric(perReq(m), "ns/op")
	b.ReportMetric(allocs[m], "allocs/op")
	b.ReportMetric(bytes[m], "B/op")
	idx := map[string]int{}
	for i, c := range bs {
		idx[c.name] = i
	}
	if f, ok := idx["floor"]; ok {
		if o, ok := idx["oauth2"]; ok && times[o] > 0 {
			// how far the least possible token layer is from x/oauth2
			b.ReportMetric(float64(times[f])/float64(times[o]), "floor-x-oauth2")
		}
	}
	for i, c := range bs {
		if i == m {
			continue
		}
		b.ReportMetric(perReq(i), c.name+"-ns/req")
		b.ReportMetric(allocs[i], c.name+"-allocs/req")
		if times[i] > 0 {
			b.ReportMetric(float64(times[m])/float64(times[i]), "x-"+c.name)
		}
	}
}

// parallelModes are the concurrency levels of the hot path scenarios: one
// goroutine, RunParallel's default (GOMAXPROCS), and SetParallelism(64).
func parallelModes() []struct {
	name string
	g    int
} {
	p := runtime.GOMAXPROCS(0)
	return []struct {
		name string
		g    int
	}{{"serial", 0}, {"parallel", p}, {"parallel64", 64 * p}}
}
