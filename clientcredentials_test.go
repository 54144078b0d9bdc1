package zohoauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

const testSOID = "ZohoCRM.700123456"

// withClientCredentials adds the client credentials grant to the fake's
// token endpoint: each grant mints "1000.access-ccN.secret", with no refresh
// token, known to the fake's API.
func (f *fakeZoho) withClientCredentials() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth/v2/token" {
			f.ServeHTTP(w, r)
			return
		}
		f.calls.Add(1)
		_ = r.ParseForm()
		f.mu.Lock()
		f.forms = append(f.forms, r.PostForm)
		f.n++
		n, delay, reply := f.n, f.delay, f.reply
		f.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if reply != nil {
			if status, body := reply(n); status != 0 {
				w.WriteHeader(status)
				io.WriteString(w, body)
				return
			}
		}
		switch {
		case r.PostForm.Get("grant_type") != "client_credentials":
			io.WriteString(w, `{"error":"unsupported_grant_type"}`)
			return
		case r.PostForm.Get("client_secret") != testClientSecret:
			io.WriteString(w, `{"error":"invalid_client_secret"}`)
			return
		case r.PostForm.Get("soid") != testSOID:
			io.WriteString(w, `{"error":"invalid_soid"}`)
			return
		}
		access := fmt.Sprintf("1000.access-cc%d.secret", n)
		f.mu.Lock()
		f.valid[access] = true
		f.mu.Unlock()
		fmt.Fprintf(w, `{"access_token":%q,"scope":%q,"api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":%d}`,
			access, r.PostForm.Get("scope"), int(f.lifetime.Seconds()))
	})
}

// withBody gives requests without a body an empty one, for handlers that
// read r.Body unconditionally as a server's handlers may.
func withBody(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body == nil {
			r = r.Clone(r.Context())
			r.Body = http.NoBody
		}
		return rt.RoundTrip(r)
	})
}

func (f *fakeZoho) ccConfig() *zohoauth.Config {
	cfg := f.config()
	cfg.Scopes = []string{"ZohoCRM.modules.ALL", "ZohoCRM.settings.READ"}
	cfg.HTTPClient = &http.Client{Transport: handlerTransport(f.withClientCredentials())}
	return cfg
}

func (f *fakeZoho) lastForm() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.forms) == 0 {
		return nil
	}
	return f.forms[len(f.forms)-1]
}

func TestClientCredentialsGrant(t *testing.T) {
	f := newFake()
	cfg := f.ccConfig()
	tok, err := cfg.ClientCredentials(bg(), testSOID)
	if err != nil {
		t.Fatalf("ClientCredentials: %v", err)
	}
	form := f.lastForm()
	want := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"client-1"},
		"client_secret": {testClientSecret},
		"scope":         {"ZohoCRM.modules.ALL,ZohoCRM.settings.READ"},
		"soid":          {testSOID},
	}
	if fmt.Sprint(form) != fmt.Sprint(want) {
		t.Errorf("form sent:\n%v\nwant:\n%v", form, want)
	}
	if tok.AccessToken != "1000.access-cc1.secret" || tok.RefreshToken != "" || tok.APIDomain != "https://www.zohoapis.com" ||
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
	if n := f.calls.Load(); n != 2 {
		t.Errorf("token endpoint calls = %d, want 2 (invalid settings must not reach Zoho)", n)
	}
}

func TestClientCredentialsSourceSharesOneMint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.delay = 200 * time.Millisecond
		src := zohoauth.NewClientCredentialsSource(f.ccConfig(), testSOID)
		defer src.Close()
		var wg sync.WaitGroup
		errs := make(chan error, 500)
		for range 500 {
			wg.Go(func() {
				tok, err := src.Token(bg())
				if err == nil && tok.AccessToken != "1000.access-cc1.secret" {
					err = errors.New("got a token other than the one minted")
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := f.calls.Load(); n != 1 {
			t.Errorf("token endpoint calls = %d, want 1", n)
		}
	})
}

func TestClientCredentialsSourceMintsWhenStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.delay = 100 * time.Millisecond
		logs := &logCapture{}
		src := zohoauth.NewClientCredentialsSource(f.ccConfig(), testSOID, zohoauth.WithLogger(logs.logger()))
		defer src.Close()
		first, err := src.Token(bg())
		if err != nil {
			t.Fatal(err)
		}
		// Fresh for 55 minutes: no mint.
		time.Sleep(54 * time.Minute)
		if tok, _ := src.Token(bg()); tok != first || f.calls.Load() != 1 {
			t.Fatalf("a fresh token was replaced (calls %d)", f.calls.Load())
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
		if err != nil || second.AccessToken != "1000.access-cc2.secret" {
			t.Fatalf("after the background mint: %v, %v", second, err)
		}
		if n := f.calls.Load(); n != 2 {
			t.Errorf("token endpoint calls = %d, want 2", n)
		}
		// Left unused past expiry: the next caller waits for a new mint.
		time.Sleep(2 * time.Hour)
		third, err := src.Token(bg())
		if err != nil || third.AccessToken != "1000.access-cc3.secret" || !third.Valid() {
			t.Fatalf("after expiry: %v, %v", third, err)
		}
		for _, form := range f.forms {
			if form.Get("grant_type") != "client_credentials" || form.Has("refresh_token") {
				t.Errorf("a mint sent %v", form)
			}
		}
		assertNoSecrets(t, "logs", logs.String())
	})
}

func TestClientCredentialsSourceRespectsZohoLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		src := zohoauth.NewClientCredentialsSource(f.ccConfig(), testSOID)
		defer src.Close()
		var throttled int
		for range 15 {
			_, err := src.Refresh(bg())
			switch {
			case errors.Is(err, zohoauth.ErrThrottled):
				throttled++
			case err != nil:
				t.Fatalf("Refresh: %v", err)
			}
			time.Sleep(10 * time.Second)
		}
		if n := f.calls.Load(); n != 10 || throttled != 5 {
			t.Fatalf("token endpoint calls = %d, throttled = %d; want 10 and 5", n, throttled)
		}
		// The valid token is still served while minting is held back.
		if tok, err := src.Token(bg()); err != nil || tok.AccessToken != "1000.access-cc10.secret" {
			t.Fatalf("Token while throttled: %v, %v", tok, err)
		}
		time.Sleep(10 * time.Minute)
		if _, err := src.Refresh(bg()); err != nil {
			t.Fatalf("Refresh after the window: %v", err)
		}
		if n := f.calls.Load(); n != 11 {
			t.Errorf("token endpoint calls = %d, want 11", n)
		}
	})
}

func TestClientCredentialsSourceWithTransport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		src := zohoauth.NewClientCredentialsSource(f.ccConfig(), testSOID)
		defer src.Close()
		hc := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: withBody(handlerTransport(f))}}
		get := func() (int, string) {
			resp, err := hc.Get(leadsURL)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if status, body := get(); status != 200 {
			t.Fatalf("first call: %d %s", status, body)
		}
		// Zoho drops the token (the 16th live one evicts the oldest): one
		// new mint, the request replayed.
		time.Sleep(20 * time.Minute)
		f.invalidateAll()
		if status, body := get(); status != 200 {
			t.Fatalf("after eviction: %d %s", status, body)
		}
		if n, api := f.calls.Load(), f.apiCalls.Load(); n != 2 || api != 3 {
			t.Errorf("token endpoint calls %d, API calls %d; want 2 and 3", n, api)
		}
	})
}

// A self client acting for a CRM organization, without user consent: the
// source mints a token, reuses it until it goes stale, then mints again.
func ExampleNewClientCredentialsSource() {
	cfg := &zohoauth.Config{
		ClientID:     "client-1",
		ClientSecret: testClientSecret,
		Scopes:       []string{"ZohoCRM.modules.ALL"},
		// Only for this example: a fake Zoho in memory. Leave HTTPClient
		// nil in production.
		HTTPClient: newFake().ccConfig().HTTPClient,
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
			resp, err := hc.Get(zohoauth.US.APIDomain + "/crm/v8/Leads")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("call %d: status %d", i+1, resp.StatusCode)
			}
		}
		if st := s.Stats(); st.TokenCalls["client_credentials"] != 2 || st.APICalls != 4 || st.Unauthorized != 1 {
			t.Errorf("mints %d, API calls %d, 401s %d; want 2, 4, 1", st.TokenCalls["client_credentials"], st.APICalls, st.Unauthorized)
		}
	})
}
