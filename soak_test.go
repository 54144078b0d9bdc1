package zohoauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"github.com/jarcoal/httpmock"
)

// The soak test sends soakRequests requests through a Transport, from
// soakWorkers goroutines, over an hour of fake time in which access tokens
// live two minutes: about 40 refreshes, with the API revoking the current
// token every quarter of an hour and the token endpoint failing once. At
// the end the goroutine count and the heap are back where they were after
// warming up, and every response body and request body was closed.
//
// go test runs it with soakRequests requests (under -race in CI); the build
// tag soak makes it a million:
//
//	go test -tags soak -run TestSoak -v .
var soakRequests = 100_000

const (
	soakWorkers  = 8
	soakBurst    = 10 // requests between a worker's pauses
	soakSpan     = time.Hour
	soakLifetime = 2 * time.Minute
	soakWindow   = 30 * time.Second
)

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped with -short")
	}
	synctest.Test(t, func(t *testing.T) { runSoak(t, soakRequests) })
}

func runSoak(t *testing.T, total int) {
	ctx := context.Background()
	srv := zohotest.New(zohotest.Options{AccessTokenLifetime: soakLifetime})
	defer srv.Close()
	_, refresh := srv.IssueToken("us")
	api := newSoakAPI()
	var bodies bodyCount
	cfg := fakeCredentials(bodies.wrap(api.learn(srv.Transport())))
	src := zohoauth.NewSource(cfg,
		zohoauth.WithToken(&zohoauth.Token{AccessToken: "1000.expired.soak", RefreshToken: refresh, APIDomain: zohoauth.US.APIDomain}),
		zohoauth.WithStore(&zohoauth.MemoryStore{}),
		zohoauth.WithRefreshWindow(soakWindow))
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: bodies.wrap(api.transport())}}

	perWorker := total / soakWorkers
	pause := soakSpan / time.Duration(perWorker/soakBurst)
	var sent, failed atomic.Int64
	var reqBodies bodyCount
	work := func(n int, w int) {
		for i := range n {
			if i%soakBurst == 0 {
				time.Sleep(pause)
			}
			if err := soakRequest(client, &reqBodies, w+i); err != nil {
				if failed.Add(1) <= 5 {
					t.Errorf("request failed: %v", err)
				}
			}
			sent.Add(1)
		}
	}
	phase := func(n int) {
		var wg sync.WaitGroup
		for w := range soakWorkers {
			wg.Add(1)
			go func() { defer wg.Done(); work(n, w) }()
		}
		wg.Wait()
		synctest.Wait() // background refreshes end
	}

	// Warm up (5%), then measure the baseline at a quiet moment.
	warm := max(perWorker/20, soakBurst)
	phase(warm)
	baseGoroutines, baseHeap := quietStats()

	stop := make(chan struct{})
	var chaos sync.WaitGroup
	chaos.Add(1)
	go func() { // the API revokes the current token every 15 minutes; the endpoint fails once
		defer chaos.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Minute):
			}
			if tok, err := src.Token(ctx); err == nil {
				api.revoke(tok.AccessToken)
			}
			if i == 2 {
				srv.SetFault(zohotest.Fault{Status: 503, Count: 1})
			}
		}
	}()
	phase(perWorker - warm)
	close(stop)
	chaos.Wait()
	endGoroutines, endHeap := quietStats()

	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed", n, sent.Load())
	}
	if endGoroutines != baseGoroutines {
		t.Errorf("goroutines: %d after the soak, %d before", endGoroutines, baseGoroutines)
	}
	const heapSlack = 1 << 20
	if endHeap > baseHeap+heapSlack {
		t.Errorf("heap: %d bytes after the soak, %d before; grew more than %d", endHeap, baseHeap, heapSlack)
	}
	if o, c := bodies.opened.Load(), bodies.closed.Load(); o != c {
		t.Errorf("response bodies: %d opened, %d closed", o, c)
	}
	if o, c := reqBodies.opened.Load(), reqBodies.closed.Load(); o != c {
		t.Errorf("request bodies: %d made, %d closed", o, c)
	}
	checkWindow(t, callTimes(srv), 10, 10*time.Minute)
	if err := src.Close(); err != nil {
		t.Error(err)
	}
	t.Logf("%d requests (%d replayed after a 401), %d token calls, %d response and %d request bodies closed; goroutines %d -> %d, heap %d -> %d bytes",
		sent.Load(), api.unauthorized.Load(), len(tokenCalls(srv)), bodies.closed.Load(), reqBodies.closed.Load(),
		baseGoroutines, endGoroutines, baseHeap, endHeap)
}

// quietStats returns the goroutine count and live heap at a quiet moment.
func quietStats() (int, uint64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

// soakRequest sends a GET, or a POST whose body can be replayed, and reads
// and closes the response.
func soakRequest(client *http.Client, bodies *bodyCount, i int) error {
	var req *http.Request
	if i%2 == 0 {
		req, _ = http.NewRequest(http.MethodGet, leadsURL, nil)
	} else {
		req, _ = http.NewRequest(http.MethodPost, leadsURL, bodies.body())
		req.GetBody = func() (io.ReadCloser, error) { return bodies.body(), nil }
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d, %v", resp.StatusCode, err)
	}
	return nil
}

// soakAPI is a small API that accepts the tokens the source minted until
// they expire or are revoked, and keeps nothing per request. zohotest's API
// cannot stand in for it here: its Stats keep every request's
// Authorization header, which would grow the heap the test measures.
type soakAPI struct {
	mu           sync.Mutex
	valid        map[string]time.Time // access token: expiry
	unauthorized atomic.Int64
}

func newSoakAPI() *soakAPI { return &soakAPI{valid: map[string]time.Time{}} }

// learn makes the API accept each access token the token endpoint
// (accounts) hands out, as Zoho's API would, from the moment it is minted.
func (a *soakAPI) learn(accounts http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := accounts.RoundTrip(r)
		if err != nil {
			return resp, err
		}
		if tok := peekTokenAnswer(resp); tok.AccessToken != "" {
			a.accept(tok.AccessToken, time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second))
		}
		return resp, nil
	})
}

func (a *soakAPI) accept(access string, expiry time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for v, exp := range a.valid {
		if !now.Before(exp) {
			delete(a.valid, v)
		}
	}
	a.valid[access] = expiry
}

func (a *soakAPI) revoke(access string) {
	a.mu.Lock()
	delete(a.valid, access)
	a.mu.Unlock()
}

// transport serves the API at Leads in memory.
func (a *soakAPI) transport() http.RoundTripper {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, leadsURL, a.answer)
	mt.RegisterResponder(http.MethodPost, leadsURL, a.answer)
	return mt
}

func (a *soakAPI) answer(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	_, access, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	a.mu.Lock()
	exp, ok := a.valid[access]
	a.mu.Unlock()
	if !ok || !time.Now().Before(exp) {
		a.unauthorized.Add(1)
		return httpmock.NewStringResponse(http.StatusUnauthorized, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`), nil
	}
	return httpmock.NewStringResponse(http.StatusOK, `{"data":[]}`), nil
}

// bodyCount counts bodies made (or responses passed on) and closed.
type bodyCount struct{ opened, closed atomic.Int64 }

type countedBody struct {
	io.ReadCloser
	c    *bodyCount
	once sync.Once
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.c.closed.Add(1) })
	return b.ReadCloser.Close()
}

func (c *bodyCount) body() io.ReadCloser {
	c.opened.Add(1)
	return &countedBody{ReadCloser: io.NopCloser(strings.NewReader(`{"data":[{"Last_Name":"Soak"}]}`)), c: c}
}

// wrap counts the response bodies base returns.
func (c *bodyCount) wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(r)
		if err == nil && resp.Body != nil {
			c.opened.Add(1)
			resp.Body = &countedBody{ReadCloser: resp.Body, c: c}
		}
		return resp, err
	})
}
