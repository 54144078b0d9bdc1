package zohoauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

const testSOID = "ZohoCRM.700123456"

// ccSetup is a fake Zoho and a self client's Config for it.
func ccSetup() (*zohotest.Server, *zohoauth.Config) {
	s := zohotest.New(zohotest.Options{})
	cfg := fakeCredentials(s.Transport())
	cfg.Scopes = []string{"ZohoCRM.modules.ALL", "ZohoCRM.settings.READ"}
	return s, cfg
}

func mints(s *zohotest.Server) int { return s.Stats().TokenCalls["client_credentials"] }

func TestClientCredentialsGrant(t *testing.T) {
	s, cfg := ccSetup()
	defer s.Close()
	tok, err := cfg.ClientCredentials(bg(), testSOID)
	if err != nil {
		t.Fatalf("ClientCredentials: %v", err)
	}
	want := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"test-client-id"},
		"client_secret": {"test-client-secret"},
		"scope":         {"ZohoCRM.modules.ALL,ZohoCRM.settings.READ"},
		"soid":          {testSOID},
	}
	if calls := tokenCalls(s); len(calls) != 1 || fmt.Sprint(calls[0].Form) != fmt.Sprint(want) {
		t.Errorf("calls made:\n%v\nwant one with the form:\n%v", calls, want)
	}
	if tok.AccessToken == "" || tok.RefreshToken != "" || tok.APIDomain != zohoauth.US.APIDomain ||
		tok.AccountsServer != zohoauth.US.AccountsURL || time.Until(tok.Expiry) < 59*time.Minute {
		t.Errorf("token = %v", tok)
	}

	for _, tc := range []struct {
		name   string
		soid   string
		scopes []string
	}{{"no soid", "", cfg.Scopes}, {"no scopes", testSOID, nil}} {
		c := *cfg
		c.Scopes = tc.scopes
		if _, err := c.ClientCredentials(bg(), tc.soid); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	c := *cfg
	c.ClientSecret = "cs-wrong-" + testClientSecret
	_, err = c.ClientCredentials(bg(), testSOID)
	var ze *zohoauth.Error
	if !errors.As(err, &ze) || ze.Op != "client_credentials" || ze.Code != "invalid_client_secret" || !errors.Is(err, zohoauth.ErrReauthRequired) {
		t.Errorf("wrong secret: err = %v", err)
	}
	assertNoSecrets(t, "error", err.Error())
	if n := mints(s); n != 2 {
		t.Errorf("token endpoint calls = %d, want 2 (invalid settings must not reach Zoho)", n)
	}
}

func TestClientCredentialsSourceSharesOneMint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg := ccSetup()
		defer s.Close()
		s.SetFault(zohotest.Fault{Latency: 200 * time.Millisecond})
		src := zohoauth.NewClientCredentialsSource(cfg, testSOID)
		defer src.Close()
		var wg sync.WaitGroup
		got := make(chan string, 500)
		for range 500 {
			wg.Go(func() {
				tok, err := src.Token(bg())
				if err != nil {
					t.Error(err)
					return
				}
				got <- tok.AccessToken
			})
		}
		wg.Wait()
		close(got)
		distinct := map[string]bool{}
		for a := range got {
			distinct[a] = true
		}
		if n := mints(s); n != 1 || len(distinct) != 1 {
			t.Errorf("token endpoint calls = %d, distinct tokens = %d; want 1 and 1", n, len(distinct))
		}
	})
}

func TestClientCredentialsSourceMintsWhenStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg := ccSetup()
		defer s.Close()
		s.SetFault(zohotest.Fault{Latency: 100 * time.Millisecond})
		logs := &logCapture{}
		src := zohoauth.NewClientCredentialsSource(cfg, testSOID, zohoauth.WithLogger(logs.logger()))
		defer src.Close()
		first, err := src.Token(bg())
		if err != nil {
			t.Fatal(err)
		}
		// Fresh for 55 minutes: no mint.
		time.Sleep(54 * time.Minute)
		if tok, _ := src.Token(bg()); tok != first || mints(s) != 1 {
			t.Fatalf("a fresh token was replaced (calls %d)", mints(s))
		}
		// Stale: the old token is served at once while one mint runs.
		time.Sleep(2 * time.Minute)
		start := time.Now()
		for range 50 {
			if tok, err := src.Token(bg()); err != nil || tok != first {
				t.Fatalf("stale: got %v, %v; want the old token at once", tok, err)
			}
		}
		if time.Since(start) != 0 {
			t.Errorf("callers waited for the background mint")
		}
		time.Sleep(time.Second)
		second, err := src.Token(bg())
		if err != nil || second.AccessToken == first.AccessToken || mints(s) != 2 {
			t.Fatalf("after the background mint: %v, %v, %d calls", second, err, mints(s))
		}
		// Left unused past expiry: the next caller waits for a new mint.
		time.Sleep(2 * time.Hour)
		third, err := src.Token(bg())
		if err != nil || third.AccessToken == second.AccessToken || !third.Valid() || mints(s) != 3 {
			t.Fatalf("after expiry: %v, %v, %d calls", third, err, mints(s))
		}
		for _, c := range tokenCalls(s) {
			if c.Form.Get("grant_type") != "client_credentials" || c.Form.Has("refresh_token") {
				t.Errorf("a mint sent %v", c.Form)
			}
		}
		for _, secret := range []string{first.AccessToken, second.AccessToken, third.AccessToken, cfg.ClientSecret} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("logs show a secret: %s", logs.String())
			}
		}
	})
}

func TestClientCredentialsSourceRespectsZohoLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg := ccSetup()
		defer s.Close()
		src := zohoauth.NewClientCredentialsSource(cfg, testSOID)
		defer src.Close()
		var throttled int
		var last *zohoauth.Token
		for range 15 {
			tok, err := src.Refresh(bg())
			switch {
			case errors.Is(err, zohoauth.ErrThrottled):
				throttled++
			case err != nil:
				t.Fatalf("Refresh: %v", err)
			default:
				last = tok
			}
			time.Sleep(10 * time.Second)
		}
		if n := mints(s); n != 10 || throttled != 5 {
			t.Fatalf("token endpoint calls = %d, throttled = %d; want 10 and 5", n, throttled)
		}
		// The valid token is still served while minting is held back.
		if tok, err := src.Token(bg()); err != nil || tok != last {
			t.Fatalf("Token while throttled: %v, %v; want the last minted", tok, err)
		}
		time.Sleep(10 * time.Minute)
		if _, err := src.Refresh(bg()); err != nil {
			t.Fatalf("Refresh after the window: %v", err)
		}
		if n := mints(s); n != 11 {
			t.Errorf("token endpoint calls = %d, want 11", n)
		}
	})
}

// A self client acting for a CRM organization, without user consent: the
// source mints a token, reuses it until it goes stale, then mints again.
func ExampleNewClientCredentialsSource() {
	fake := zohotest.New(zohotest.Options{}) // a fake Zoho, for this example only
	defer fake.Close()

	cfg := &zohoauth.Config{
		ClientID:     "test-client-id",
		ClientSecret: "test-client-secret",
		Scopes:       []string{"ZohoCRM.modules.ALL"},
		HTTPClient:   &http.Client{Transport: fake.Transport()}, // leave nil in production
	}
	orgID := "700123456"
	src := zohoauth.NewClientCredentialsSource(cfg, "ZohoCRM."+orgID)
	defer src.Close()

	tok, err := src.Token(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("api domain:", tok.APIDomain)
	fmt.Println("refresh token:", tok.RefreshToken != "")
	// API calls: zohoauth.NewClient(src), or a Transport with src.
	// Output:
	// api domain: https://www.zohoapis.com
	// refresh token: false
}

// Against the fake Zoho: the source's tokens open the API, and when Zoho
// drops them the Transport's 401 recovery mints a new one.
func TestClientCredentialsAgainstZohotest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := zohotest.New(zohotest.Options{})
		defer s.Close()
		cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret",
			Scopes: []string{"ZohoCRM.modules.ALL"}, HTTPClient: &http.Client{Transport: s.Transport()}}
		src := zohoauth.NewClientCredentialsSource(cfg, testSOID)
		defer src.Close()
		hc := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: s.Transport()}}
		for i := range 3 {
			if i == 2 {
				time.Sleep(30 * time.Minute)
				s.ExpireAll()
			}
			resp, err := hc.Get(zohoauth.US.APIDomain + "/crm/v8/Leads?fields=Last_Name")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent { // Zoho's answer for an empty list
				t.Fatalf("call %d: status %d", i+1, resp.StatusCode)
			}
		}
		if st := s.Stats(); st.TokenCalls["client_credentials"] != 2 || st.APICalls != 4 || st.Unauthorized != 1 {
			t.Errorf("mints %d, API calls %d, 401s %d; want 2, 4, 1", st.TokenCalls["client_credentials"], st.APICalls, st.Unauthorized)
		}
	})
}
