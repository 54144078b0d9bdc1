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
// the retry waits, and a 503 with Retry-After makes that wait as long as
// the response asks (bounded only by the refresh timeout). The slot then
// frees that much before Zoho's window does, and an 11th call within 10
// minutes of Zoho's arrivals gets through.
func TestCallBudgetHoldsAtZohoAfterRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var arrivals []time.Time
		n := 0
		cfg := &zohoauth.Config{
			ClientID:     "client-1",
			ClientSecret: testClientSecret,
			HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				mu.Lock()
				arrivals = append(arrivals, time.Now())
				n++
				first := n == 1
				mu.Unlock()
				if first { // a proxy in front of Zoho asks for 20 s
					return &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"20"}},
						Body: io.NopCloser(strings.NewReader("busy")), Request: r}, nil
				}
				body := fmt.Sprintf(`{"access_token":"1000.access-%d.secret","expires_in":3600}`, n)
				return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
			})},
		}
		src := zohoauth.NewSource(cfg, zohoauth.WithToken(expiredToken()))
		defer src.Close()
		start := time.Now()
		for time.Since(start) < 20*time.Minute {
			if _, err := src.Refresh(bg()); err != nil && !errors.Is(err, zohoauth.ErrThrottled) {
				t.Fatalf("Refresh at %v: %v", time.Since(start), err)
			}
			time.Sleep(5 * time.Second)
		}
		mu.Lock()
		defer mu.Unlock()
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
