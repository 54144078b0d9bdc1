package zohoauth_test

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// The call budget must hold as the token endpoint sees it: when a request
// reaches Zoho, not when its slot was taken. A retry's slot is taken before
// the retry waits, and a 503's Retry-After (up to 2 s) sets that wait. If
// the slot counted from the decision, it would free that much before
// Zoho's window does, and an 11th call within 10 minutes of Zoho's arrivals
// would get through.
func TestCallBudgetHoldsAtZohoAfterRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := retryAfterFirst(t, "2") // a proxy in front of Zoho asks for 2 s
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, -time.Minute)))
		defer src.Close()
		start := time.Now()
		for time.Since(start) < 20*time.Minute {
			if _, err := src.Refresh(bg()); err != nil && !errors.Is(err, zohoauth.ErrThrottled) {
				t.Fatalf("Refresh at %v: %v", time.Since(start), err)
			}
			time.Sleep(time.Second)
		}
		checkWindow(t, callTimes(srv), 10, 10*time.Minute)
	})
}

// A 503 whose Retry-After is longer than a token call should wait is not
// retried inside the call: the refresh fails at once, as a transient error,
// and the retry's slot is not booked far in the future, where it would
// hold one of the 10 calls for as long as the header asked.
func TestLongRetryAfterEndsTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := retryAfterFirst(t, "3600")
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithToken(issuedToken(srv, -time.Minute)))
		defer src.Close()
		start := time.Now()
		_, err := src.Token(bg())
		if !errors.Is(err, zohoauth.ErrTransient) {
			t.Fatalf("Token during a 503 with Retry-After: 3600 = %v, want ErrTransient", err)
		}
		if took := time.Since(start); took > 0 {
			t.Errorf("the refresh waited %v for a retry it should not make", took)
		}
		// Nine more calls fit in the window: the first call's answer did
		// not book a slot an hour away.
		for i := range 9 {
			time.Sleep(2 * time.Second)
			if _, err := src.Refresh(bg()); err != nil {
				t.Fatalf("Refresh %d after the 503: %v", i+1, err)
			}
		}
		if n := len(tokenCalls(srv)); n != 10 {
			t.Errorf("token calls = %d, want 10", n)
		}
	})
}

// retryAfterFirst is a fake Zoho whose token endpoint answers its first
// call with a 503 that asks for a wait of retryAfter seconds, and mints
// tokens after that. Zoho's own throttle is off: what is held to 10 calls
// in 10 minutes is the source.
func retryAfterFirst(t *testing.T, retryAfter string) *zohotest.Server {
	srv := newZoho(t, zohotest.Options{ThrottleLimit: -1})
	srv.Script(zohotest.Fault{Status: 503, Body: "busy", Header: http.Header{"Retry-After": {retryAfter}}})
	return srv
}
