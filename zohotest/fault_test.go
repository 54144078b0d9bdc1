package zohotest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth/zohotest"
)

func TestFaultAnswers(t *testing.T) {
	tests := []struct {
		name       string
		fault      zohotest.Fault
		status     int
		body       string // exact, or prefix when ending in "..."
		contentTyp string
	}{
		{"502 page", zohotest.Fault{Status: 502}, 502, "<html><head><title>502 Bad Gateway</title>...", "text/html"},
		{"503 page", zohotest.Fault{Status: 503}, 503, "<html><head><title>503 Service Unavailable</title>...", "text/html"},
		{"400 with Zoho's throttle body", zohotest.Fault{Status: 400, Body: throttleBody}, 400, throttleBody, "application/json"},
		{"empty 200", zohotest.Fault{Status: 200}, 200, "", "application/json"},
		{"truncated JSON", zohotest.Fault{Body: `{"access_token":"1000.`}, 200, `{"access_token":"1000.`, "application/json"},
		{"HTML", zohotest.Fault{Body: "<html>maintenance</html>"}, 200, "<html>maintenance</html>", "text/html"},
		{"localized error", zohotest.Fault{Body: `{"error":"访问被拒绝"}`}, 200, `{"error":"访问被拒绝"}`, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newServer(t, zohotest.Options{})
			code := s.NewGrantCode("us")
			tt.fault.Count = 1
			s.SetFault(tt.fault)
			r := exchange(t, c, s.DC("us"), code)
			prefix, isPrefix := strings.CutSuffix(tt.body, "...")
			if r.Status != tt.status || (isPrefix && !strings.HasPrefix(r.Raw, prefix)) || (!isPrefix && r.Raw != tt.body) {
				t.Errorf("got %d %q, want %d %q", r.Status, r.Raw, tt.status, tt.body)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentTyp) {
				t.Errorf("Content-Type = %q, want %s", ct, tt.contentTyp)
			}
			// Count 1: the next call is normal, and the faulted call did
			// not use up the code.
			wantToken(t, exchange(t, c, s.DC("us"), code))
			if got := s.Stats().TokenCalls["authorization_code"]; got != 2 {
				t.Errorf("TokenCalls[authorization_code] = %d, want 2", got)
			}
		})
	}
}

func TestFaultDrop(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	_, rt := s.IssueToken("us")
	s.SetFault(zohotest.Fault{Drop: true, Count: 2})
	for range 2 {
		resp, err := c.PostForm("https://accounts.zoho.com/oauth/v2/token", form("grant_type", "refresh_token", "refresh_token", rt))
		if err == nil {
			resp.Body.Close()
			t.Fatal("dropped call returned a response")
		}
		if strings.Contains(err.Error(), rt) || strings.Contains(err.Error(), "test-client-secret") {
			t.Errorf("error shows a secret: %v", err)
		}
	}
	wantToken(t, refresh(t, c, s.DC("us"), rt))
	if got := s.Stats().TokenCalls["refresh_token"]; got != 3 {
		t.Errorf("TokenCalls[refresh_token] = %d, want 3", got)
	}
}

func TestFaultUntilCleared(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	access, rt := s.IssueToken("us")
	s.SetFault(zohotest.Fault{Status: 500})
	for range 3 {
		if r := refresh(t, c, s.DC("us"), rt); r.Status != 500 {
			t.Fatalf("got %d, want 500 until cleared", r.Status)
		}
	}
	// The fault is the token endpoint's only: the API works.
	if r := api(t, c, "GET", "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name", access, ""); r.Status != http.StatusNoContent {
		t.Errorf("API during a token fault: %d", r.Status)
	}
	s.SetFault(zohotest.Fault{})
	wantToken(t, refresh(t, c, s.DC("us"), rt))
}

func TestFaultLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newServer(t, zohotest.Options{})
		_, rt := s.IssueToken("us")
		s.SetFault(zohotest.Fault{Latency: 5 * time.Second, Count: 2})
		start := time.Now()
		wantToken(t, refresh(t, c, s.DC("us"), rt))
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("answer after %v, want 5s", d)
		}

		// A deadline ends the wait.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://accounts.zoho.com/oauth/v2/token",
			strings.NewReader(form("grant_type", "refresh_token", "refresh_token", rt).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		start = time.Now()
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("after %v: err = %v, want the deadline after 1s", time.Since(start), err)
		}

		// Count is used up: no delay now.
		start = time.Now()
		wantToken(t, refresh(t, c, s.DC("us"), rt))
		if d := time.Since(start); d != 0 {
			t.Errorf("answer after %v, want at once", d)
		}
	})
}

func TestFaultLatencyThenStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newServer(t, zohotest.Options{})
		s.SetFault(zohotest.Fault{Latency: time.Minute, Status: 504})
		start := time.Now()
		if r := exchange(t, c, s.DC("us"), s.NewGrantCode("us")); r.Status != 504 || time.Since(start) != time.Minute {
			t.Errorf("got %d after %v, want 504 after 1m", r.Status, time.Since(start))
		}
	})
}
