package zohoauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// The fault matrix: every way the token endpoint can misbehave, against a
// token that is fresh, stale (inside the refresh window) and expired. Each
// row runs in a synctest bubble: requests go out through the Transport
// (see pace) for faultSpan of fake time while the fault lasts, then the fault
// clears and the source must recover. The calls the token endpoint took and
// the refreshes the source logged are put on one timeline and held to the
// backoff rules of Source's documentation.

const (
	faultSpan      = 20 * time.Minute // how long the fault lasts
	recoverWithin  = 10 * time.Minute // longest wait for a working token after it clears
	sendMargin     = time.Second      // a token this close to expiry is no longer sent
	refreshTimeout = zohoauth.DefaultRefreshTimeout
	apiURL         = "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name"
	throttleText   = `{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`
)

// faultRow is one token endpoint fault and what the source must make of it.
type faultRow struct {
	name string
	// fault builds the fault; good is an access token the fake API
	// accepts, for answers that carry a token.
	fault func(good string) zohotest.Fault
	// class is what a refresh under this fault fails with. Unused when
	// minted.
	class zohoauth.Class
	// minted: the answer is a usable token despite its flaw; the source
	// installs it with a one hour lifetime.
	minted bool
	// attempts is the most token calls one refresh may make: 3 for
	// network errors and 5xx (retried), 1 for everything else.
	attempts int
}

func faultRows() []faultRow {
	body := func(s string) func(string) zohotest.Fault {
		return func(string) zohotest.Fault { return zohotest.Fault{Body: s} }
	}
	withToken := func(extra string) func(string) zohotest.Fault {
		return func(good string) zohotest.Fault {
			return zohotest.Fault{Body: fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer"%s}`, good, extra)}
		}
	}
	return []faultRow{
		{name: "HTTP 500", fault: func(string) zohotest.Fault { return zohotest.Fault{Status: 500} }, class: zohoauth.ClassTransient, attempts: 3},
		{name: "HTTP 502", fault: func(string) zohotest.Fault { return zohotest.Fault{Status: 502} }, class: zohoauth.ClassTransient, attempts: 3},
		{name: "HTTP 503", fault: func(string) zohotest.Fault { return zohotest.Fault{Status: 503} }, class: zohoauth.ClassTransient, attempts: 3},
		{name: "connection reset", fault: func(string) zohotest.Fault { return zohotest.Fault{Drop: true} }, class: zohoauth.ClassTransient, attempts: 3},
		{name: "hang past the refresh deadline", fault: func(string) zohotest.Fault { return zohotest.Fault{Latency: 24 * time.Hour} }, class: zohoauth.ClassTransient, attempts: 1},
		{name: "HTML page", fault: body("<html><body><h1>Zoho Accounts is under maintenance</h1></body></html>"), class: zohoauth.ClassTransient, attempts: 1},
		{name: "truncated JSON", fault: body(`{"access_token":"1000.6a1f`), class: zohoauth.ClassTransient, attempts: 1},
		{name: "empty 200", fault: func(string) zohotest.Fault { return zohotest.Fault{Status: 200} }, class: zohoauth.ClassTransient, attempts: 1},
		{name: "invalid_code", fault: body(`{"error":"invalid_code"}`), class: zohoauth.ClassReauth, attempts: 1},
		{name: "invalid_client", fault: body(`{"error":"invalid_client"}`), class: zohoauth.ClassReauth, attempts: 1},
		{name: "invalid_client_secret", fault: body(`{"error":"invalid_client_secret"}`), class: zohoauth.ClassReauth, attempts: 1},
		{name: "Access Denied", fault: body(throttleText), class: zohoauth.ClassThrottled, attempts: 1},
		{name: "localized unknown error", fault: body(`{"error":"访问被拒绝","status":"failure"}`), class: zohoauth.ClassUnknown, attempts: 1},
		{name: "no expires_in", fault: withToken(""), minted: true, attempts: 1},
		{name: "expires_in 0", fault: withToken(`,"expires_in":0`), minted: true, attempts: 1},
		{name: "expires_in negative", fault: withToken(`,"expires_in":-3600`), minted: true, attempts: 1},
		{name: "expires_in absurd", fault: withToken(`,"expires_in":315360000000`), minted: true, attempts: 1},
		{name: "expires_in in milliseconds", fault: withToken(`,"expires_in":3600000`), minted: true, attempts: 1},
	}
}

// tokenState is how much life the served token has left when the fault
// starts.
type tokenState struct {
	name string
	left time.Duration
}

var tokenStates = []tokenState{
	{"fresh", time.Hour},
	{"stale", 4 * time.Minute}, // inside the default 5 minute window
	{"expired", -time.Minute},
}

func TestFaultMatrix(t *testing.T) {
	var total faultTotals
	for _, row := range faultRows() {
		for _, st := range tokenStates {
			t.Run(row.name+"/"+st.name, func(t *testing.T) {
				total.add(runFaultRow(t, row, st))
			})
		}
	}
	t.Logf("fault matrix: %d rows (%d faults x %d token states), %d requests, %d failed as expected, %d token endpoint calls",
		total.rows, len(faultRows()), len(tokenStates), total.requests, total.failed, total.calls)
}

type faultTotals struct {
	mu                            sync.Mutex
	rows, requests, failed, calls int
}

func (f *faultTotals) add(r faultResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows++
	f.requests += r.requests
	f.failed += r.failed
	f.calls += r.calls
}

type faultResult struct{ requests, failed, calls int }

func runFaultRow(t *testing.T, row faultRow, st tokenState) (res faultResult) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		srv := zohotest.New(zohotest.Options{})
		defer srv.Close()
		access, refresh := srv.IssueToken("us")
		start := time.Now()
		if st.left < 0 {
			srv.ExpireAll()
		}
		orig := &zohoauth.Token{
			AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
			APIDomain: zohoauth.US.APIDomain, Scope: zohotest.DefaultScope,
			Expiry: start.Add(st.left), AccountsServer: zohoauth.US.AccountsURL,
		}
		store := &zohoauth.MemoryStore{}
		if err := store.Save(ctx, orig); err != nil {
			t.Fatal(err)
		}
		tl := &timeline{}
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store), zohoauth.WithLogger(slog.New(tl)))
		defer src.Close()
		client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: srv.Transport()}}
		good, _ := srv.IssueToken("us")
		srv.SetFault(row.fault(good))

		// validUntil is when the token the source holds stops being sent.
		validUntil := orig.Expiry.Add(-sendMargin)
		checkStored := func(when string) {
			t.Helper()
			got, err := store.Load(ctx)
			switch {
			case err != nil:
				t.Fatalf("%s: the stored token is gone: %v", when, err)
			case got.RefreshToken != refresh:
				t.Fatalf("%s: the stored refresh token was replaced", when)
			case got.AccessToken == orig.AccessToken && got.Expiry.Equal(orig.Expiry):
			case row.minted && got.AccessToken == good:
				if life := got.Expiry.Sub(lastCall(srv)); life != time.Hour {
					t.Fatalf("%s: stored token lives %v after its refresh, want 1h", when, life)
				}
				if got.APIDomain != orig.APIDomain || got.Scope != orig.Scope || got.AccountsServer != orig.AccountsServer {
					t.Fatalf("%s: the refresh lost fields: %v", when, got)
				}
			default:
				t.Fatalf("%s: the store holds a token that is neither the original nor a good refresh: %v", when, got)
			}
		}

		if st.name == "fresh" {
			// A cron job forces a refresh while the fault lasts.
			got, err := src.Refresh(ctx)
			if row.minted {
				if err != nil || got.AccessToken != good {
					t.Fatalf("forced refresh: %v, %v; want the answer's token", got, err)
				}
				validUntil = got.Expiry.Add(-sendMargin)
			} else {
				checkClass(t, "forced refresh", err, row.class)
				if got != nil {
					t.Fatalf("forced refresh returned a token with its error")
				}
			}
			res.requests++ // the forced refresh is a caller too
		}

		// The fault lasts faultSpan; then the endpoint works again.
		request := func() (ok bool, took time.Duration, err error) {
			t0 := time.Now()
			resp, err := client.Get(apiURL)
			took = time.Since(t0)
			if err != nil {
				return false, took, err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent { // Zoho's answer for an empty list
				t.Fatalf("t=%v: API answered %d %s", t0.Sub(start), resp.StatusCode, body)
			}
			return true, took, nil
		}
		for time.Since(start) < faultSpan {
			now := time.Now()
			if now.Sub(start)%time.Minute == 0 {
				checkStored(fmt.Sprintf("t=%v", now.Sub(start)))
			}
			ok, took, err := request()
			res.requests++
			if took > refreshTimeout {
				t.Fatalf("t=%v: a request took %v, longer than the refresh deadline", now.Sub(start), took)
			}
			switch {
			case ok:
				if row.minted && validUntil.Before(now) {
					validUntil = now.Add(time.Hour - sendMargin)
				}
			case now.Before(validUntil):
				t.Fatalf("t=%v: a request failed while the source held a valid token: %v", now.Sub(start), err)
			case row.minted:
				t.Fatalf("t=%v: a request failed although the endpoint answers with a usable token: %v", now.Sub(start), err)
			default:
				res.failed++
				checkClass(t, fmt.Sprintf("t=%v", now.Sub(start)), err, row.class)
				assertNoSecrets(t, "error", err.Error())
				for _, s := range []string{refresh, access, good, "test-client-secret"} {
					if strings.Contains(err.Error(), s) {
						t.Fatalf("error shows a secret: %v", err)
					}
				}
			}
			time.Sleep(pace(time.Since(start)))
		}
		checkStored("end of the fault")
		checkBackoff(t, tl.withCalls(srv), row, orig.Expiry.Add(-sendMargin))
		res.calls = len(tokenCalls(srv))

		// The fault clears: the source recovers within recoverWithin,
		// whatever backoff or throttle window it was in.
		srv.SetFault(zohotest.Fault{})
		cleared := time.Now()
		var recovered time.Time
		for time.Since(cleared) <= recoverWithin+time.Second {
			ok, _, err := request()
			res.requests++
			if ok && recovered.IsZero() {
				recovered = time.Now()
			}
			if !ok && !recovered.IsZero() {
				t.Fatalf("a request failed after recovery: %v", err)
			}
			if !recovered.IsZero() && time.Since(recovered) >= time.Minute {
				break
			}
			time.Sleep(pace(time.Since(cleared)))
		}
		if recovered.IsZero() {
			t.Fatalf("no working token %v after the fault cleared", recoverWithin)
		}
		got, err := store.Load(ctx)
		if err != nil || got.RefreshToken != refresh || !got.Valid() {
			t.Fatalf("after recovery the store holds %v, %v", got, err)
		}
		if n := srv.Stats().ThrottleHits; n != 0 {
			t.Errorf("Zoho's own throttle refused %d calls", n)
		}
		t.Logf("%d requests, %d failed, %d token calls during the fault; recovered %v after it cleared",
			res.requests, res.failed, res.calls, recovered.Sub(cleared))
	})
	return res
}

// pace spaces requests: one a second for the first minute, where the
// backoff steps are short, then one every five seconds.
func pace(elapsed time.Duration) time.Duration {
	if elapsed < time.Minute {
		return time.Second
	}
	return 5 * time.Second
}

// checkClass asserts that err is a token endpoint failure of class want.
// While Zoho is down a refresh may also be held back by the source's own
// limit of 10 token calls per 10 minutes: that is reported as throttled,
// with no HTTP status.
func checkClass(t *testing.T, when string, err error, want zohoauth.Class) {
	t.Helper()
	var ze *zohoauth.Error
	if !errors.As(err, &ze) {
		t.Fatalf("%s: err = %v (%T), want a *zohoauth.Error of class %v", when, err, err, want)
	}
	if ze.Class == want || (want == zohoauth.ClassTransient && heldBack(ze)) {
		sentinel := map[zohoauth.Class]error{
			zohoauth.ClassReauth: zohoauth.ErrReauthRequired, zohoauth.ClassThrottled: zohoauth.ErrThrottled,
			zohoauth.ClassTransient: zohoauth.ErrTransient,
		}[ze.Class]
		if sentinel != nil && !errors.Is(err, sentinel) {
			t.Fatalf("%s: errors.Is(%v, %v) is false", when, err, sentinel)
		}
		return
	}
	t.Fatalf("%s: err = %v, class %v; want class %v", when, err, ze.Class, want)
}

func heldBack(ze *zohoauth.Error) bool {
	return ze.Class == zohoauth.ClassThrottled && ze.StatusCode == 0 && ze.Code == ""
}

// timeline records each refresh's start and end, through the source's log.
type timeline struct {
	mu     sync.Mutex
	events []event
}

type event struct {
	at        time.Time
	kind      string // "call", "start", "ok", "fail"
	status    int    // a "call"'s HTTP status; 0 when it got no answer
	throttled bool   // a "fail" with ErrThrottled
}

func (tl *timeline) add(e event) {
	tl.mu.Lock()
	tl.events = append(tl.events, e)
	tl.mu.Unlock()
}

// withCalls returns the refreshes on the timeline with the calls srv's
// token endpoint took merged in by time: at one instant, a refresh starts
// before its call arrives, and the call comes before the refresh ends.
func (tl *timeline) withCalls(srv *zohotest.Server) []event {
	tl.mu.Lock()
	events := slices.Clone(tl.events)
	tl.mu.Unlock()
	for _, c := range tokenCalls(srv) {
		events = append(events, event{at: c.At, kind: "call", status: c.Status})
	}
	rank := map[string]int{"start": 0, "call": 1, "ok": 2, "fail": 2}
	slices.SortStableFunc(events, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return rank[a.kind] - rank[b.kind]
	})
	return events
}

// lastCall returns when the last call reached srv's token endpoint.
func lastCall(srv *zohotest.Server) time.Time {
	at := callTimes(srv)
	if len(at) == 0 {
		return time.Time{}
	}
	return at[len(at)-1]
}

// slog.Handler: the source logs "refresh started" before its token call and
// "refresh succeeded" or "refresh failed" after.
func (tl *timeline) Enabled(context.Context, slog.Level) bool { return true }
func (tl *timeline) WithAttrs([]slog.Attr) slog.Handler       { return tl }
func (tl *timeline) WithGroup(string) slog.Handler            { return tl }
func (tl *timeline) Handle(_ context.Context, r slog.Record) error {
	e := event{at: r.Time}
	switch {
	case strings.Contains(r.Message, "refresh started"):
		e.kind = "start"
	case strings.Contains(r.Message, "refresh succeeded"):
		e.kind = "ok"
	case strings.Contains(r.Message, "refresh failed"):
		e.kind = "fail"
		r.Attrs(func(a slog.Attr) bool {
			if err, ok := a.Value.Any().(error); ok && a.Key == "error" {
				e.throttled = errors.Is(err, zohoauth.ErrThrottled)
			}
			return true
		})
	default:
		return nil
	}
	tl.add(e)
	return nil
}

// refreshRun is one refresh as seen on the timeline.
type refreshRun struct {
	start, end time.Time
	calls      int
	failed     bool
	throttled  bool
}

// checkBackoff holds the events (see withCalls) to the source's rules:
// token calls happen only inside a refresh, at most row.attempts per
// refresh; at most 10 per 10 minutes may have minted a token (all but those
// answered with a 5xx); after the k-th failure in a row the next refresh waits at least
// min(1s*2^(k-1), 1m) (30s doubling up to 5m when Zoho refused the grant),
// or until the served token stops being sent if that is sooner; after Zoho's
// throttle answer it waits 10 minutes. And it does not wait for long: while
// requests keep coming, an ordinary failure is followed by the next try
// within two minutes (the budget spread over its window, see spread).
func checkBackoff(t *testing.T, events []event, row faultRow, servedUntil time.Time) {
	t.Helper()
	var runs []refreshRun
	var minting []time.Time // calls that may have minted a token
	var cur *refreshRun
	for _, e := range events {
		switch e.kind {
		case "call":
			if cur == nil {
				t.Fatalf("token call at %v outside any refresh", e.at)
			}
			cur.calls++
			if e.status < 500 {
				minting = append(minting, e.at)
			}
		case "start":
			if cur != nil {
				t.Fatalf("refresh started at %v while another ran", e.at)
			}
			cur = &refreshRun{start: e.at}
		case "ok", "fail":
			if cur == nil { // held back before the start: no call made
				cur = &refreshRun{start: e.at}
			}
			cur.end, cur.failed, cur.throttled = e.at, e.kind == "fail", e.throttled
			runs = append(runs, *cur)
			cur = nil
		}
	}
	if cur != nil {
		t.Fatalf("a refresh started at %v never ended", cur.start)
	}
	checkWindow(t, minting, 10, 10*time.Minute) // the calls that may have minted a token
	failures := 0
	for i, r := range runs {
		if r.calls > row.attempts {
			t.Fatalf("refresh %d made %d token calls, want at most %d", i+1, r.calls, row.attempts)
		}
		if !r.failed {
			failures = 0
			continue
		}
		failures++
		if i+1 == len(runs) {
			break
		}
		first, ceiling := time.Second, time.Minute
		if row.class == zohoauth.ClassReauth {
			first, ceiling = 30*time.Second, 5*time.Minute // only a new grant helps: look again now and then
		}
		wait := min(first<<min(failures-1, 20), ceiling)
		earliest := r.end.Add(wait)
		if r.throttled && r.calls > 0 {
			earliest = r.end.Add(10 * time.Minute)
		} else if r.end.Before(servedUntil) && servedUntil.Before(earliest) {
			earliest = servedUntil
		}
		if next := runs[i+1]; next.calls > 0 && next.start.Before(earliest) {
			t.Fatalf("refresh %d started %v after failure %d in a row; want at least %v",
				i+2, next.start.Sub(r.end), failures, earliest.Sub(r.end))
		}
		ordinary := row.class == zohoauth.ClassTransient || row.class == zohoauth.ClassUnknown
		if next := runs[i+1]; ordinary && !r.throttled && next.start.Sub(r.end) > 2*time.Minute+5*time.Second {
			t.Fatalf("refresh %d started %v after failure %d in a row; an outage is retried within about two minutes",
				i+2, next.start.Sub(r.end), failures)
		}
	}
}

// The source's limit of 10 token calls per 10 minutes counts calls made: a
// refresh whose three attempts all fail uses three slots, not four, so a
// dead connection gets exactly 10 calls in the first 10 minutes.
func TestCallBudgetCountsCallsMade(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := zohotest.New(zohotest.Options{})
		defer srv.Close()
		_, refresh := srv.IssueToken("us")
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(&zohoauth.Token{AccessToken: "1000.gone.x", RefreshToken: refresh}))
		defer src.Close()
		srv.SetFault(zohotest.Fault{Drop: true})
		start := time.Now()
		for time.Since(start) < 10*time.Minute {
			_, err := src.Token(context.Background())
			checkClass(t, "Token", err, zohoauth.ClassTransient)
			time.Sleep(time.Second)
		}
		if n := len(tokenCalls(srv)); n != 10 {
			t.Errorf("%d token calls in the first 10 minutes, want the budget's 10", n)
		}
	})
}

// An outage of Zoho's token endpoint (5xx) is spent slowly: only the first
// refresh after a success retries, later ones make one attempt each, spaced
// by the backoff, and once six calls are in the budget's window the rest is
// spread until the oldest leaves it, so the 10 calls per 10 minutes last
// through the outage and every call counts (a 5xx may come from a proxy
// after Zoho minted a token). When the outage ends the source gets a token
// within about two minutes, within a minute once the outage lasted ten.
func TestServerErrorsSpendTheCallBudgetSlowly(t *testing.T) {
	for _, outage := range []time.Duration{5 * time.Second, 15 * time.Second, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 20 * time.Minute} {
		t.Run(outage.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := zohotest.New(zohotest.Options{})
				defer srv.Close()
				_, refresh := srv.IssueToken("us")
				start := time.Now()
				src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(&zohoauth.Token{AccessToken: "1000.gone.x", RefreshToken: refresh}))
				defer src.Close()
				srv.SetFault(zohotest.Fault{Status: 503})
				for {
					if time.Since(start) >= outage {
						srv.SetFault(zohotest.Fault{})
					}
					_, err := src.Token(context.Background())
					if err == nil {
						break
					}
					var ze *zohoauth.Error
					if !errors.As(err, &ze) || !heldBack(ze) {
						checkClass(t, "Token", err, zohoauth.ClassTransient)
					}
					time.Sleep(time.Second)
				}
				checkWindow(t, callTimes(srv), 10, 10*time.Minute)
				// A blip heals at the backoff's pace (1 s doubling); then
				// the rest of the budget is spread at most about two
				// minutes apart, and a minute apart once a whole window has
				// passed. Requests come every second.
				after := 2*time.Minute + time.Second
				switch {
				case outage <= 5*time.Second:
					after = outage + time.Second
				case outage >= 10*time.Minute:
					after = time.Minute + time.Second
				}
				if took := time.Since(start); took > outage+after {
					t.Errorf("token %v after the outage ended, want within %v", took-outage, after)
				}
				var sent []time.Duration
				for _, at := range callTimes(srv) {
					sent = append(sent, at.Sub(start))
				}
				t.Logf("503 for %v: token after %v, %d token calls at %v", outage, time.Since(start), len(sent), sent)
			})
		})
	}
}
