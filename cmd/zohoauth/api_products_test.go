package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-zoho/zohoauth/zohotest"
)

// api takes a full URL on any Zoho API host of the token's data center,
// with -H headers, and still a path for the api_domain; a host the token
// may not go to is refused before anything is sent.
func TestAPIOtherProducts(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	f.transport = f.srv.Transport() // Zoho's real host names, in memory
	code := f.srv.NewGrantCode("eu", "Desk.tickets.ALL", "ZohoBooks.invoices.ALL", "ZohoCRM.modules.ALL")
	f.addSecret(code, "grant code")
	if status, _, stderr := f.zoho("exchange", "-dc", "eu", "-code", code); status != exitOK {
		t.Fatalf("exchange: %d %s", status, stderr)
	}

	status, stdout, stderr := f.zoho("api", "POST", "https://desk.zoho.eu/api/v1/tickets", "-H", "orgId: 10234695",
		"-data", `{"subject":"Printer on fire","departmentId":"1"}`)
	wantStatus(t, "api POST to Desk", status, exitOK, stdout, stderr, "")
	if !strings.Contains(stdout, "Printer on fire") {
		t.Errorf("Desk answered %q", stdout)
	}
	// A token Zoho revoked is recovered on Desk too, with the header kept.
	f.srv.RevokeAccessToken(f.stored().AccessToken)
	status, stdout, stderr = f.zoho("api", "GET", "https://desk.zoho.eu/api/v1/tickets", "-H", "orgId: 10234695")
	wantStatus(t, "api GET Desk after revocation", status, exitOK, stdout, stderr, "")
	if !strings.Contains(stdout, "Printer on fire") || f.calls("refresh_token") != 1 {
		t.Errorf("Desk after revocation: %q, %d refresh calls", stdout, f.calls("refresh_token"))
	}
	status, stdout, stderr = f.zoho("api", "GET", "/books/v3/invoices?organization_id=10234695")
	wantStatus(t, "api GET Books by path", status, exitOK, stdout, stderr, "")

	for _, tc := range []struct{ name, url string }{
		{"another data center", "https://desk.zoho.com/api/v1/tickets"},
		{"a Zoho web site", "https://www.zoho.eu/"},
		{"a lookalike", "https://desk.zoho.e%C3%BC/api/v1/tickets"},
		{"plain http", "http://desk.zoho.eu/api/v1/tickets"},
		{"not Zoho", "https://example.com/x"},
	} {
		before := f.srv.Stats().APICalls
		status, _, stderr := f.zoho("api", "GET", tc.url)
		if status != exitFailure || !strings.Contains(stderr, "is not a Zoho API host of the token's data center") {
			t.Errorf("%s: status %d, stderr %q; want it refused", tc.name, status, stderr)
		}
		if n := f.srv.Stats().APICalls - before; n != 0 {
			t.Errorf("%s: %d API calls; nothing may be sent", tc.name, n)
		}
	}
	for _, h := range []string{"Authorization: Zoho-oauthtoken 1000.aa.bb", "no colon", "bad name: x", "Host: evil"} {
		status, _, stderr := f.zoho("api", "GET", "https://desk.zoho.eu/api/v1/tickets", "-H", h)
		if status != exitFailure || !strings.Contains(stderr, "invalid value for -H") {
			t.Errorf("-H %q: status %d, stderr %q; want it refused", h, status, stderr)
		}
		if strings.Contains(stderr, "1000.aa.bb") || strings.Contains(stderr, "evil") {
			t.Errorf("-H %q: stderr repeats the value: %q", h, stderr)
		}
	}
}

// Runs of the command share Zoho's budget through the ledger beside the
// token file: 15 quick runs of api against an API that refuses every token
// (a wrong data center, say) make a few token calls, not 15.
func TestAPIRunsShareTheBudget(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	fake := f.srv.Transport()
	f.transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasPrefix(r.URL.Host, "accounts.") {
			return fake.RoundTrip(r)
		}
		return &http.Response{StatusCode: 401, Header: http.Header{}, Request: r,
			Body: io.NopCloser(strings.NewReader(`{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`))}, nil
	})
	code := f.srv.NewGrantCode("eu")
	f.addSecret(code, "grant code")
	if status, _, stderr := f.zoho("exchange", "-dc", "eu", "-code", code); status != exitOK {
		t.Fatalf("exchange: %d %s", status, stderr)
	}
	for i := range 15 {
		if status, _, _ := f.zoho("api", "GET", "/crm/v8/Leads?fields=Last_Name"); status != exitHTTP && status != exitTransient {
			t.Fatalf("run %d: status %d, want the API's 401 (4) or a held-back refresh (3)", i, status)
		}
	}
	if n := f.calls("refresh_token"); n > 3 {
		t.Errorf("15 runs made %d token calls; the shared streak of refused tokens should hold them back after 3", n)
	}
	t.Logf("15 runs against an API refusing every token: %d token calls", f.calls("refresh_token"))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
