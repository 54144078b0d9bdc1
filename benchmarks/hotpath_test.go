package benchmarks

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// staticTransport answers every request with the same prepared response,
// so a hot path benchmark measures only the layer above it.
type staticTransport struct{ resp *http.Response }

func newStaticTransport() *staticTransport {
	return &staticTransport{resp: &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody,
	}}
}

func (t *staticTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return t.resp, nil
}

// hotContenders are measured on the hot path, the references first.
var hotContenders = []contender{bare, floor, zohoauthC, oauth2C, cloudauthC}

// hotSetup: a token valid for an hour, nothing to refresh.
func hotSetup(inner http.RoundTripper, domain string) setup {
	f := newFakeZoho()
	return setup{zoho: f, inner: inner, seed: f.seedToken(time.Now().Add(time.Hour)), apiDomain: domain}
}

// BenchmarkHotPath is scenario 1: a valid token, an in-memory inner
// transport. All contenders run alternately in one run; ns/op, B/op and
// allocs/op are zohoauth's, x-oauth2 and x-floor its time as a ratio.
func BenchmarkHotPath(b *testing.B) {
	for _, mode := range parallelModes() {
		b.Run(mode.name, func(b *testing.B) {
			bs := buildAll(hotContenders, hotSetup(newStaticTransport(), ""))
			defer stopAll(bs)
			compareInOneRun(b, bs, "zohoauth", newRequest(""), mode.g, max(512, 32*mode.g))
		})
	}
}

// BenchmarkHotPathEach runs each contender of scenario 1 on its own, for
// the testing package's own B/op and allocs/op figures.
func BenchmarkHotPathEach(b *testing.B) {
	for _, mode := range parallelModes() {
		for _, c := range hotContenders {
			b.Run(mode.name+"/"+c.name, func(b *testing.B) {
				rt, stop := c.build(hotSetup(newStaticTransport(), ""))
				defer stop()
				req := newRequest("")
				b.ReportAllocs()
				if mode.g == 0 {
					for b.Loop() {
						mustOK(do(rt, req))
					}
					return
				}
				b.SetParallelism(mode.g / max(1, parallelModes()[1].g))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						mustOK(do(rt, req))
					}
				})
			})
		}
	}
}

// newLoopbackAPI starts a loopback HTTP server that answers like a Zoho API
// and a client transport for it with enough idle connections for 64x
// parallelism.
func newLoopbackAPI(tb testing.TB) (*httptest.Server, *http.Transport) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":[{"id":"1"}],"info":{"count":1}}`)
	}))
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}
	tb.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return srv, tr
}

// BenchmarkLoopback is scenario 2: the hot path over a loopback HTTP
// server. Goal: zohoauth's overhead within noise of floor (x-floor ~ 1).
func BenchmarkLoopback(b *testing.B) {
	for _, mode := range parallelModes() {
		b.Run(mode.name, func(b *testing.B) {
			srv, tr := newLoopbackAPI(b)
			bs := buildAll(hotContenders, hotSetup(tr, srv.URL))
			defer stopAll(bs)
			compareInOneRun(b, bs, "zohoauth", newRequest(srv.URL+"/crm/v8/Leads"), mode.g, max(64, 8*mode.g))
		})
	}
}
