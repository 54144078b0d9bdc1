package zohoauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// The 401 storm: the API rejects every token, and many goroutines keep
// sending requests. The source must stay within Zoho's limit of 10 tokens
// per 10 minutes per refresh token, every request must end quickly with a
// 401 or an error the caller can act on, and nothing may hang.

const stormLatency = 300 * time.Millisecond // of each token endpoint answer

type stormCase struct {
	name       string
	goroutines int
	span       time.Duration // of fake time
	pause      time.Duration // between one goroutine's requests
	// setup breaks the account and returns the URL the requests go to.
	setup func(srv *zohotest.Server, refresh string) string
	// refreshOK: refreshes succeed (the tokens are good, just not here).
	refreshOK bool
}

var stormCases = []stormCase{
	{
		name: "refresh token revoked", goroutines: 100, span: time.Minute, pause: 500 * time.Millisecond,
		setup: func(srv *zohotest.Server, refresh string) string {
			srv.RevokeRefreshToken(refresh) // kills its access tokens too
			return "https://www.zohoapis.com/crm/v8/Leads"
		},
	},
	{
		name: "calls go to another data center", goroutines: 100, span: time.Minute, pause: 500 * time.Millisecond,
		setup: func(*zohotest.Server, string) string {
			return "https://www.zohoapis.eu/crm/v8/Leads" // the token is from the US
		},
		refreshOK: true,
	},
	{
		name: "another data center for half an hour", goroutines: 10, span: 30 * time.Minute, pause: 5 * time.Second,
		setup: func(*zohotest.Server, string) string {
			return "https://www.zohoapis.eu/crm/v8/Leads"
		},
		refreshOK: true,
	},
}

func TestStorm401(t *testing.T) {
	for _, sc := range stormCases {
		t.Run(sc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runStorm(t, sc) })
		})
	}
}

type stormOutcome struct {
	requests, unauthorized, reauth, throttled int
	slowest                                   time.Duration
}

func runStorm(t *testing.T, sc stormCase) {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	access, refresh := srv.IssueToken("us")
	store := &zohoauth.MemoryStore{}
	tok := &zohoauth.Token{
		AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.US.APIDomain,
		Expiry: time.Now().Add(time.Hour), AccountsServer: zohoauth.US.AccountsURL,
	}
	if err := store.Save(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store))
	defer src.Close()
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: srv.Transport()}}
	srv.SetFault(zohotest.Fault{Latency: stormLatency})
	url := sc.setup(srv, refresh)

	start := time.Now()
	var mu sync.Mutex
	var out stormOutcome
	var wg sync.WaitGroup
	for g := range sc.goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(g) * sc.pause / time.Duration(sc.goroutines)) // spread out
			for time.Since(start) < sc.span {
				o, err := stormRequest(client, url, g)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				out.requests++
				out.unauthorized += o.unauthorized
				out.reauth += o.reauth
				out.throttled += o.throttled
				out.slowest = max(out.slowest, o.slowest)
				mu.Unlock()
				time.Sleep(sc.pause)
			}
		}()
	}
	wg.Wait()

	st := srv.Stats()
	calls := len(tokenCalls(srv))
	if st.ThrottleHits != 0 {
		t.Errorf("Zoho's throttle refused %d token calls", st.ThrottleHits)
	}
	checkWindow(t, callTimes(srv), 10, 10*time.Minute)
	if st.APICalls > 2*out.requests {
		t.Errorf("%d API calls for %d requests: a request was sent more than twice", st.APICalls, out.requests)
	}
	// A request waits for at most two shared refreshes: before it is
	// sent, and before its one replay.
	if out.slowest > 2*stormLatency {
		t.Errorf("the slowest request took %v, want at most %v", out.slowest, 2*stormLatency)
	}
	if sc.refreshOK && out.reauth != 0 {
		t.Errorf("%d requests failed with ErrReauthRequired although refreshes work", out.reauth)
	}
	if !sc.refreshOK {
		// Once Zoho refused the grant, callers hear ErrReauthRequired
		// and the dead token stays home: only requests already on their
		// way when the first 401 came back reach the API.
		if out.reauth == 0 {
			t.Errorf("no caller was told that re-authorization is needed")
		}
		if st.APICalls > sc.goroutines {
			t.Errorf("%d API calls with a token whose grant Zoho refused; want at most %d", st.APICalls, sc.goroutines)
		}
	}
	if got, err := store.Load(context.Background()); err != nil || got.RefreshToken != refresh {
		t.Errorf("the stored token was lost: %v, %v", got, err)
	}
	t.Logf("%d goroutines for %v: %d requests (%d answered 401, %d ErrReauthRequired, %d ErrThrottled), %d API calls, %d token calls; slowest request %v",
		sc.goroutines, sc.span, out.requests, out.unauthorized, out.reauth, out.throttled, st.APICalls, calls, out.slowest)
}

// stormRequest sends one request (a POST with a body every other time, so
// replays carry bodies) and sorts its outcome. Anything but a 401 with
// Zoho's code or a reauth/throttled error is an error.
func stormRequest(client *http.Client, url string, g int) (stormOutcome, error) {
	var o stormOutcome
	t0 := time.Now()
	var resp *http.Response
	var err error
	if g%2 == 0 {
		resp, err = client.Get(url)
	} else {
		resp, err = client.Post(url, "application/json", strings.NewReader(`{"data":[{"Last_Name":"Storm"}]}`))
	}
	o.slowest = time.Since(t0)
	switch {
	case err != nil && errors.Is(err, zohoauth.ErrReauthRequired):
		o.reauth++
	case err != nil && errors.Is(err, zohoauth.ErrThrottled):
		o.throttled++
	case err != nil:
		return o, fmt.Errorf("request failed with an error the caller cannot act on: %v", err)
	default:
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"INVALID_TOKEN"`) {
			return o, fmt.Errorf("got %d %s, want 401 INVALID_TOKEN", resp.StatusCode, body)
		}
		o.unauthorized++
	}
	return o, nil
}
