package zohoauth_test

import (
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
)

// The call budget must hold as the token endpoint sees it: when a request
// reaches Zoho, not when its slot was taken. A retry's slot is taken before
// the retry waits, and a 503's Retry-After (up to 2 s) sets that wait. If
// the slot counted from the decision, it would free that much before
// Zoho's window does, and an 11th call within 10 minutes of Zoho's arrivals
// would get through.
func TestCallBudgetHoldsAtZohoAfterRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := &retryAfterEndpoint{retryAfter: "2"} // a proxy in front of Zoho asks for 2 s
		src := zohoauth.NewSource(ep.config(), zohoauth.WithToken(expiredToken()))
		defer src.Close()
		start := time.Now()
		for time.Since(start) < 20*time.Minute {
			if _, err := src.Refresh(bg()); err != nil && !errors.Is(err, zohoauth.ErrThrottled) {
				t.Fatalf("Refresh at %v: %v", time.Since(start), err)
			}
			time.Sleep(time.Second)
		}
		arrivals := ep.calls()
		for i := range arrivals {
			k := 0
			for _, a := range arrivals[i:] {
				if a.Sub(arrivals[i]) < 10*time.Minute {
					k++
				}
			}
			if k > 10 {
				t.Fatalf("%d token calls reached the endpoint within 10 minutes of the one at %v", k, arrivals[i].Sub(start))
			}
		}
	})
}

// A 503 whose Retry-After is longer than a token call should wait is not
// retried inside the call: the refresh fails at once, as a transient error,
// and the retry's slot is not booked far in the future, where it would
// hold one of the 10 calls for as long as the header asked.
func TestLongRetryAfterEndsTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := &retryAfterEndpoint{retryAfter: "3600"}
		src := zohoauth.NewSource(ep.config(), zohoauth.WithToken(expiredToken()))
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
		if n := len(ep.calls()); n != 10 {
			t.Errorf("token calls = %d, want 10", n)
		}
	})
}

// retryAfterEndpoint is a token endpoint whose first answer is a 503 with
// the given Retry-After; every later call mints a token. It records when
// each call arrived.
type retryAfterEndpoint struct {
	retryAfter string
	mu         sync.Mutex
	arrivals   []time.Time
}

func (e *retryAfterEndpoint) config() *zohoauth.Config {
	return fakeCredentials(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		e.mu.Lock()
		e.arrivals = append(e.arrivals, time.Now())
		n := len(e.arrivals)
		e.mu.Unlock()
		if n == 1 {
			return &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {e.retryAfter}},
				Body: io.NopCloser(strings.NewReader("busy")), Request: r}, nil
		}
		body := fmt.Sprintf(`{"access_token":"1000.access-%d.secret","expires_in":3600}`, n)
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}))
}

func (e *retryAfterEndpoint) calls() []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Time(nil), e.arrivals...)
}
