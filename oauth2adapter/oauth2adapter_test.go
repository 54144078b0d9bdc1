package oauth2adapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/oauth2adapter"
	"github.com/go-zoho/zohoauth/zohotest"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	clientID     = "test-client-id"
	clientSecret = "test-client-secret"
)

// zohoConfig is an x/oauth2 Config for Zoho's EU accounts server, as code
// built on x/oauth2 has it.
func zohoConfig() *oauth2.Config {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   zohoauth.EU.AccountsURL + "/oauth/v2/auth",
			TokenURL:  zohoauth.EU.AccountsURL + "/oauth/v2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes: []string{"ZohoCRM.modules.ALL"},
	}
}

// withFake makes x/oauth2 reach the fake Zoho in memory.
func withFake(ctx context.Context, s *zohotest.Server) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: s.Transport()})
}

func get(t *testing.T, hc *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A zohoauth Source behind oauth2.NewClient: the header is the one Zoho's
// CRM accepts, and tokens the Source refreshes reach x/oauth2's client.
func TestTokenSourceWithOAuth2Client(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := zohotest.New(zohotest.Options{})
		defer s.Close()
		access, refresh := s.IssueToken("eu")
		cfg := &zohoauth.Config{ClientID: clientID, ClientSecret: clientSecret, AccountsURL: zohoauth.EU.AccountsURL,
			HTTPClient: &http.Client{Transport: s.Transport()}}
		src := zohoauth.NewSource(cfg, zohoauth.WithToken(&zohoauth.Token{
			AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.EU.APIDomain,
			Expiry: time.Now().Add(time.Hour),
		}))
		defer src.Close()

		ctx := withFake(context.Background(), s)
		hc := oauth2.NewClient(ctx, oauth2adapter.TokenSource(ctx, src))
		if status, body := get(t, hc, zohoauth.EU.APIDomain+"/crm/v8/Leads?fields=Last_Name"); status != http.StatusNoContent { // no records yet
			t.Fatalf("first call: %d %s", status, body)
		}
		// Past the expiry: the Source refreshes, the x/oauth2 client gets
		// the new token.
		time.Sleep(2 * time.Hour)
		if status, body := get(t, hc, zohoauth.EU.APIDomain+"/crm/v8/Leads?fields=Last_Name"); status != http.StatusNoContent { // no records yet
			t.Fatalf("after expiry: %d %s", status, body)
		}
		st := s.Stats()
		if st.TokenCalls["refresh_token"] != 1 || len(st.AuthHeaders) != 2 {
			t.Fatalf("refreshes %d, API calls %d; want 1 and 2", st.TokenCalls["refresh_token"], len(st.AuthHeaders))
		}
		if st.AuthHeaders[0] != "Zoho-oauthtoken "+access || st.AuthHeaders[0] == st.AuthHeaders[1] ||
			!strings.HasPrefix(st.AuthHeaders[1], "Zoho-oauthtoken 1000.") {
			t.Errorf("the API saw Authorization headers %d and %d bytes long, not the two tokens in the Zoho-oauthtoken scheme",
				len(st.AuthHeaders[0]), len(st.AuthHeaders[1]))
		}

		tok, err := oauth2adapter.TokenSource(ctx, src).Token()
		if err != nil {
			t.Fatal(err)
		}
		if tok.Type() != "Zoho-oauthtoken" || tok.Extra("api_domain") != zohoauth.EU.APIDomain ||
			tok.Extra("accounts_server") != zohoauth.EU.AccountsURL || tok.RefreshToken != refresh || !tok.Valid() {
			t.Errorf("converted token: type %q extra %v/%v valid %v", tok.Type(), tok.Extra("api_domain"), tok.Extra("accounts_server"), tok.Valid())
		}
	})
}

// The captured context: once it is cancelled, a Token call that has to
// wait for a refresh fails with its error instead of hanging.
func TestTokenSourceCapturedContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := zohotest.New(zohotest.Options{})
		defer s.Close()
		s.SetFault(zohotest.Fault{Latency: time.Hour})
		_, refresh := s.IssueToken("us")
		cfg := &zohoauth.Config{ClientID: clientID, ClientSecret: clientSecret, HTTPClient: &http.Client{Transport: s.Transport()}}
		src := zohoauth.NewSource(cfg, zohoauth.WithToken(&zohoauth.Token{RefreshToken: refresh}))
		defer src.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := oauth2adapter.TokenSource(ctx, src).Token()
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Errorf("Token = %v after %v; want the captured context's deadline after 5s", err, time.Since(start))
		}
	})
}

// A token from x/oauth2's own Exchange against Zoho, carried into zohoauth:
// api_domain survives, the accounts server follows from it, and the
// imported token refreshes at the right data center and calls the API.
func TestFromOAuth2AfterExchange(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := zohotest.New(zohotest.Options{Legacy: legacy})
				defer s.Close()
				ctx := withFake(context.Background(), s)
				otok, err := zohoConfig().Exchange(ctx, s.NewGrantCode("eu"))
				if err != nil {
					t.Fatalf("x/oauth2 Exchange: %v", err)
				}
				if legacy && time.Until(otok.Expiry) < 24*time.Hour {
					t.Fatalf("x/oauth2 expiry %v: the legacy shape no longer misleads it; revisit this test", time.Until(otok.Expiry))
				}
				time.Sleep(10 * time.Minute) // imported a while after the exchange
				tok, err := oauth2adapter.FromOAuth2(otok)
				if err != nil {
					t.Fatal(err)
				}
				if tok.APIDomain != zohoauth.EU.APIDomain || tok.AccountsServer != zohoauth.EU.AccountsURL ||
					tok.AccessToken != otok.AccessToken || tok.RefreshToken != otok.RefreshToken || tok.Scope != "ZohoCRM.modules.ALL" {
					t.Fatalf("imported token %v", tok)
				}
				if got := time.Until(tok.Expiry); got != 50*time.Minute {
					t.Errorf("imported token expires in %v, want 50m (1h from the exchange)", got)
				}

				// The Config's AccountsURL is left at US: the token's own
				// accounts server must carry the refresh to EU.
				cfg := &zohoauth.Config{ClientID: clientID, ClientSecret: clientSecret, HTTPClient: &http.Client{Transport: s.Transport()}}
				src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
				defer src.Close()
				if _, err := src.Refresh(context.Background()); err != nil {
					t.Fatalf("refresh of the imported token: %v", err)
				}
				hc := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: s.Transport()}}
				if status, body := get(t, hc, tok.APIDomain+"/crm/v8/Leads?fields=Last_Name"); status != http.StatusNoContent { // no records yet
					t.Fatalf("API call: %d %s", status, body)
				}
			})
		})
	}
}

func TestFromOAuth2WithoutExtra(t *testing.T) {
	_, err := oauth2adapter.FromOAuth2(&oauth2.Token{})
	if err == nil {
		t.Error("an empty token was accepted")
	}
	exp := time.Now().Add(30 * time.Minute)
	tok, err := oauth2adapter.FromOAuth2(&oauth2.Token{AccessToken: "1000.a.b", RefreshToken: "1000.r.s", Expiry: exp})
	if err != nil {
		t.Fatal(err)
	}
	if tok.APIDomain != "" || tok.AccountsServer != "" || !tok.Expiry.Equal(exp) {
		t.Errorf("got %v", tok)
	}
	// A round trip through ToOAuth2 keeps every field.
	back, err := oauth2adapter.FromOAuth2(oauth2adapter.ToOAuth2(&zohoauth.Token{
		AccessToken: "1000.a.b", RefreshToken: "1000.r.s", APIDomain: "https://sandbox.zohoapis.com",
		Scope: "ZohoCRM.modules.ALL", Expiry: exp, AccountsServer: zohoauth.US.AccountsURL,
	}))
	if err != nil || back.APIDomain != "https://sandbox.zohoapis.com" || back.AccountsServer != zohoauth.US.AccountsURL ||
		back.Scope != "ZohoCRM.modules.ALL" || !back.Expiry.Equal(exp) || back.TokenType != oauth2adapter.TokenType {
		t.Errorf("round trip: %v, %v", back, err)
	}
}

func TestParseJSON(t *testing.T) {
	exp := time.Now().Add(20 * time.Minute).Truncate(time.Second)
	oauth2JSON, _ := json.Marshal(&oauth2.Token{AccessToken: "1000.a.b", TokenType: "Bearer", RefreshToken: "1000.r.s", Expiry: exp, ExpiresIn: 1200})
	zohoJSON, _ := json.Marshal(zohoauth.Token{AccessToken: "1000.a.b", RefreshToken: "1000.r.s", APIDomain: "https://www.zohoapis.in",
		Expiry: exp, AccountsServer: zohoauth.IN.AccountsURL, Scope: "ZohoCRM.modules.ALL"})
	cases := []struct {
		name     string
		data     string
		api      string
		accounts string
		expiry   time.Time
	}{
		{"oauth2.Token JSON: no api_domain to keep", string(oauth2JSON), "", "", exp},
		{"oauth2.Token JSON with api_domain stored beside it",
			strings.Replace(string(oauth2JSON), "{", `{"api_domain":"https://www.zohoapis.com.au/",`, 1), "https://www.zohoapis.com.au", zohoauth.AU.AccountsURL, exp},
		{"zohoauth.Token JSON", string(zohoJSON), "https://www.zohoapis.in", zohoauth.IN.AccountsURL, exp},
		{"Zoho's token response: no expiry known", `{"access_token":"1000.a.b","refresh_token":"1000.r.s","api_domain":"https://www.zohoapis.eu","token_type":"Bearer","expires_in":3600}`,
			"https://www.zohoapis.eu", zohoauth.EU.AccountsURL, time.Time{}},
		{"loopback api_domain: no accounts server guessed", `{"refresh_token":"1000.r.s","api_domain":"http://127.0.0.1:8080"}`, "http://127.0.0.1:8080", "", time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := oauth2adapter.ParseJSON([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken != "1000.r.s" || tok.APIDomain != tc.api || tok.AccountsServer != tc.accounts || !tok.Expiry.Equal(tc.expiry) {
				t.Errorf("got api %q accounts %q expiry %v; want %q %q %v", tok.APIDomain, tok.AccountsServer, tok.Expiry, tc.api, tc.accounts, tc.expiry)
			}
			if tc.expiry.IsZero() && !tok.Expired() {
				t.Errorf("a token of unknown age counts as valid")
			}
		})
	}
	synctest.Test(t, func(t *testing.T) {
		far := `{"access_token":"1000.a.b","expiry":"` + time.Now().Add(41*24*time.Hour).Format(time.RFC3339) + `"}`
		tok, err := oauth2adapter.ParseJSON([]byte(far))
		if err != nil || time.Until(tok.Expiry) != time.Hour {
			t.Errorf("an expiry 41 days away became %v, %v; want 1h", time.Until(tok.Expiry), err)
		}
	})
	for _, bad := range []string{``, `[]`, `{"token_type":"Bearer"}`, `{"access_token":`} {
		if _, err := oauth2adapter.ParseJSON([]byte(bad)); err == nil {
			t.Errorf("ParseJSON(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "1000.") {
			t.Errorf("error shows token material: %v", err)
		}
	}
}

// Code written for x/oauth2 gets a token source whose tokens come from a
// zohoauth Source: stored, shared and refreshed by zohoauth.
func ExampleTokenSource() {
	s := zohotest.New(zohotest.Options{}) // a fake Zoho, for this example only
	defer s.Close()
	access, refresh := s.IssueToken("us")

	cfg := &zohoauth.Config{ClientID: clientID, ClientSecret: clientSecret,
		HTTPClient: &http.Client{Transport: s.Transport()}} // leave nil in production
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(&zohoauth.Token{
		AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.US.APIDomain,
		Expiry: time.Now().Add(time.Hour)}))
	defer src.Close()

	ctx := context.Background() // lives as long as the token source
	var ts oauth2.TokenSource = oauth2adapter.TokenSource(ctx, src)
	tok, err := ts.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Type(), tok.Extra("api_domain"))
	// Output: Zoho-oauthtoken https://www.zohoapis.com
}

// A token saved by a program built on x/oauth2, next to the api_domain it
// kept, moved into zohoauth.
func ExampleParseJSON() {
	saved := []byte(`{"access_token":"1000.aaa.bbb","token_type":"Bearer","refresh_token":"1000.ccc.ddd",
		"expiry":"2020-01-01T10:00:00Z","api_domain":"https://www.zohoapis.eu"}`)
	tok, err := oauth2adapter.ParseJSON(saved)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.APIDomain, tok.AccountsServer, tok.Expired())
	// Output: https://www.zohoapis.eu https://accounts.zoho.eu true
}

// ParseJSON reads files written by other programs: whatever they hold, it
// must not panic, must not accept a token with nothing in it, and must
// not believe an expiry more than an hour away.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"access_token":"1000.a.b","token_type":"Bearer","refresh_token":"1000.r.s","expiry":"2030-01-01T00:00:00Z","expires_in":3600}`))
	f.Add([]byte(`{"access_token":"1000.a.b","api_domain":"https://www.zohoapis.eu","expires_in_sec":3600,"expires_in":3600000}`))
	f.Add([]byte(`{"refresh_token":"x","api_domain":"https://sandbox.zohoapis.com.au:8443/","accounts_server":"http://127.0.0.1"}`))
	f.Add([]byte(`{"expiry":"not a time"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := oauth2adapter.ParseJSON(data)
		if err != nil {
			return
		}
		if tok.AccessToken == "" && tok.RefreshToken == "" {
			t.Fatal("accepted a token with neither access nor refresh token")
		}
		if time.Until(tok.Expiry) > time.Hour {
			t.Fatalf("expiry %v away", time.Until(tok.Expiry))
		}
	})
}

// An imported expiry is a wall-clock time, as in tokens zohoauth gets from
// Zoho itself: x/oauth2 computes it with time.Now, which carries a
// monotonic clock reading, and zohoauth compares expiries with time.Now. On
// Linux the monotonic clock stops while the host is suspended, so a token
// carrying one would still look valid after a sleep longer than its life.
func TestImportedExpiryHasNoMonotonicReading(t *testing.T) {
	monotonic := func(tm time.Time) bool { return strings.Contains(tm.String(), " m=") }
	for _, legacy := range []bool{false, true} {
		s := zohotest.New(zohotest.Options{Legacy: legacy})
		otok, err := zohoConfig().Exchange(withFake(context.Background(), s), s.NewGrantCode("eu"))
		s.Close()
		if err != nil {
			t.Fatalf("x/oauth2 Exchange: %v", err)
		}
		if !monotonic(otok.Expiry) {
			t.Fatalf("x/oauth2's expiry %v has no monotonic reading; revisit this test", otok.Expiry)
		}
		tok, err := oauth2adapter.FromOAuth2(otok)
		if err != nil {
			t.Fatal(err)
		}
		if monotonic(tok.Expiry) {
			t.Errorf("legacy=%v: FromOAuth2 expiry %v keeps a monotonic reading", legacy, tok.Expiry)
		}
	}
	far := `{"access_token":"1000.a.b","expiry":"` + time.Now().Add(41*24*time.Hour).Format(time.RFC3339) + `"}`
	tok, err := oauth2adapter.ParseJSON([]byte(far))
	if err != nil {
		t.Fatal(err)
	}
	if monotonic(tok.Expiry) {
		t.Errorf("ParseJSON's capped expiry %v keeps a monotonic reading", tok.Expiry)
	}
}
