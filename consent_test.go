package zohoauth_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"github.com/jarcoal/httpmock"
)

// accountsFake answers grant exchanges on every Zoho accounts host in
// memory, with the api_domain of the host's data center, and records which
// host each request went to. Only the code "good-code" is accepted.
// zohotest serves three data centers; the redirects here name all of them.
type accountsFake struct {
	mu    sync.Mutex
	hosts []string
	forms []url.Values
}

func (a *accountsFake) answer(r *http.Request) (*http.Response, error) {
	_ = r.ParseForm()
	a.mu.Lock()
	a.hosts = append(a.hosts, r.URL.Host)
	a.forms = append(a.forms, r.PostForm)
	a.mu.Unlock()
	if r.URL.Path != "/oauth/v2/token" || r.PostForm.Get("grant_type") != "authorization_code" {
		return httpmock.NewStringResponse(http.StatusNotFound, ""), nil
	}
	if r.PostForm.Get("code") != "good-code" || r.PostForm.Get("client_secret") != testClientSecret {
		return httpmock.NewStringResponse(http.StatusOK, `{"error":"invalid_code"}`), nil
	}
	api := "https://www.zohoapis.com"
	for _, dc := range zohoauth.DataCenters() {
		if "https://"+r.URL.Host == dc.AccountsURL {
			api = dc.APIDomain
		}
	}
	return httpmock.NewStringResponse(http.StatusOK, fmt.Sprintf(
		`{"access_token":"1000.access-consent.x","refresh_token":%q,"api_domain":%q,"token_type":"Bearer","expires_in":3600}`, testRefresh, api)), nil
}

func (a *accountsFake) seen() ([]string, []url.Values) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.hosts...), append([]url.Values(nil), a.forms...)
}

func (a *accountsFake) config() *zohoauth.Config {
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(a.answer) // every host: a request that goes astray is recorded too
	return &zohoauth.Config{
		ClientID:     "1000.CLIENT",
		ClientSecret: testClientSecret,
		RedirectURL:  "https://app.example.com/oauth/callback",
		Scopes:       []string{"ZohoCRM.modules.ALL", "ZohoCRM.settings.READ"},
		HTTPClient:   &http.Client{Transport: mt},
	}
}

func TestAuthCodeURL(t *testing.T) {
	cfg := (&accountsFake{}).config()
	cases := []struct {
		name     string
		accounts string
		opts     []zohoauth.AuthOption
		prompt   string
	}{
		{"default US", "", nil, ""},
		{"EU, consent forced", zohoauth.EU.AccountsURL + "/", []zohoauth.AuthOption{zohoauth.PromptConsent()}, "consent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := *cfg
			c.AccountsURL = tc.accounts
			u, err := url.Parse(c.AuthCodeURL("st-123", tc.opts...))
			if err != nil {
				t.Fatal(err)
			}
			wantBase := zohoauth.US.AccountsURL
			if tc.accounts != "" {
				wantBase = zohoauth.EU.AccountsURL
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != wantBase+"/oauth/v2/auth" {
				t.Errorf("consent page %q, want %s/oauth/v2/auth", got, wantBase)
			}
			q := u.Query()
			want := map[string]string{
				"scope":         "ZohoCRM.modules.ALL,ZohoCRM.settings.READ",
				"client_id":     "1000.CLIENT",
				"response_type": "code",
				"access_type":   "offline",
				"redirect_uri":  "https://app.example.com/oauth/callback",
				"state":         "st-123",
				"prompt":        tc.prompt,
			}
			for k, v := range want {
				if got := q.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if q.Has("client_secret") || strings.Contains(u.String(), testClientSecret) {
				t.Errorf("the consent URL carries the client secret")
			}
		})
	}
}

// redirect builds the request Zoho's redirect makes to the callback.
func redirect(params map[string]string) *http.Request {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return httptest.NewRequest(http.MethodGet, "https://app.example.com/oauth/callback?"+q.Encode(), nil)
}

func TestExchangeRedirect(t *testing.T) {
	cases := []struct {
		name      string
		params    map[string]string
		state     string
		wantHost  string // where the code went; "" means nowhere
		wantAPI   string
		wantErrIs error
	}{
		{"EU account", map[string]string{"code": "good-code", "state": "s1", "location": "eu", "accounts-server": "https://accounts.zoho.eu"},
			"s1", "accounts.zoho.eu", "https://www.zohoapis.eu", nil},
		{"location only", map[string]string{"code": "good-code", "state": "s1", "location": "in"},
			"s1", "accounts.zoho.in", "https://www.zohoapis.in", nil},
		{"CA uses zohocloud", map[string]string{"code": "good-code", "state": "s1", "accounts-server": "https://accounts.zohocloud.ca"},
			"s1", "accounts.zohocloud.ca", "https://www.zohoapis.ca", nil},
		{"no DC parameters: configured server", map[string]string{"code": "good-code", "state": "s1"},
			"s1", "accounts.zoho.com", "https://www.zohoapis.com", nil},
		{"attacker accounts server", map[string]string{"code": "good-code", "state": "s1", "location": "eu", "accounts-server": "https://accounts.zoho.eu.evil.example"},
			"s1", "", "", zohoauth.ErrUnknownAccountsServer},
		{"attacker server over http", map[string]string{"code": "good-code", "state": "s1", "accounts-server": "http://accounts.zoho.eu"},
			"s1", "", "", zohoauth.ErrUnknownAccountsServer},
		{"attacker server with user info", map[string]string{"code": "good-code", "state": "s1", "accounts-server": "https://accounts.zoho.com@evil.example"},
			"s1", "", "", zohoauth.ErrUnknownAccountsServer},
		{"location and server disagree", map[string]string{"code": "good-code", "state": "s1", "location": "us", "accounts-server": "https://accounts.zoho.eu"},
			"s1", "", "", nil},
		{"state mismatch", map[string]string{"code": "good-code", "state": "forged", "location": "eu"},
			"s1", "", "", zohoauth.ErrStateMismatch},
		{"state missing", map[string]string{"code": "good-code", "location": "eu"},
			"s1", "", "", zohoauth.ErrStateMismatch},
		{"no expected state", map[string]string{"code": "good-code", "state": ""},
			"", "", "", nil},
		{"consent declined", map[string]string{"error": "access_denied", "state": "s1"},
			"s1", "", "", zohoauth.ErrReauthRequired},
		{"no code", map[string]string{"state": "s1", "location": "eu"},
			"s1", "", "", zohoauth.ErrReauthRequired},
		{"used code", map[string]string{"code": "spent-code", "state": "s1", "location": "eu"},
			"s1", "accounts.zoho.eu", "", zohoauth.ErrReauthRequired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &accountsFake{}
			cfg := a.config()
			tok, err := cfg.ExchangeRedirect(bg(), redirect(tc.params), tc.state)
			hosts, forms := a.seen()
			if tc.wantHost == "" && len(hosts) > 0 {
				t.Fatalf("the code was sent to %v; want no request at all", hosts)
			}
			if tc.wantHost != "" && (len(hosts) != 1 || hosts[0] != tc.wantHost) {
				t.Fatalf("requests went to %v, want one to %s", hosts, tc.wantHost)
			}
			if cfg.AccountsURL != "" {
				t.Errorf("the Config was modified: AccountsURL = %q", cfg.AccountsURL)
			}
			if tc.wantAPI == "" {
				if err == nil {
					t.Fatalf("got a token, want an error")
				}
				if tc.wantErrIs != nil && !errors.Is(err, tc.wantErrIs) {
					t.Errorf("err = %v, want %v", err, tc.wantErrIs)
				}
				assertNoSecrets(t, "error", err.Error())
				if strings.Contains(err.Error(), "good-code") || strings.Contains(err.Error(), "spent-code") {
					t.Errorf("error shows the grant code: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ExchangeRedirect: %v", err)
			}
			if tok.APIDomain != tc.wantAPI || tok.AccountsServer != "https://"+tc.wantHost {
				t.Errorf("token api_domain %q accounts %q, want %q and https://%s", tok.APIDomain, tok.AccountsServer, tc.wantAPI, tc.wantHost)
			}
			if got := forms[0].Get("redirect_uri"); got != cfg.RedirectURL {
				t.Errorf("redirect_uri sent = %q, want %q", got, cfg.RedirectURL)
			}
		})
	}
}

// A fake Zoho on a loopback address, configured as AccountsURL, may name
// itself in accounts-server: the configured server is trusted already.
func TestExchangeRedirectConfiguredServer(t *testing.T) {
	srv := newZoho(t, zohotest.Options{})
	srv.Start()
	accounts := srv.DC("us").AccountsURL
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: fakeClientSecret, AccountsURL: accounts,
		RedirectURL: "https://app.example.com/oauth/callback", HTTPClient: &http.Client{}}
	r := redirect(map[string]string{"code": srv.NewGrantCode("us"), "state": "s", "accounts-server": accounts + "/"})
	tok, err := cfg.ExchangeRedirect(bg(), r, "s")
	if err != nil {
		t.Fatalf("ExchangeRedirect: %v", err)
	}
	if tok.AccountsServer != accounts {
		t.Errorf("AccountsServer = %q, want %q", tok.AccountsServer, accounts)
	}
	// Another loopback port is not the configured server.
	r = redirect(map[string]string{"code": srv.NewGrantCode("us"), "state": "s", "accounts-server": "http://127.0.0.1:1"})
	if _, err := cfg.ExchangeRedirect(bg(), r, "s"); !errors.Is(err, zohoauth.ErrUnknownAccountsServer) {
		t.Errorf("err = %v, want ErrUnknownAccountsServer", err)
	}
}

// A web app's consent flow: /login sends the user to Zoho with a random
// state kept in a cookie; /oauth/callback checks it, exchanges the code at
// the user's data center and keeps the token.
func ExampleConfig_ExchangeRedirect() {
	fake := zohotest.New(zohotest.Options{}) // Zoho, faked in memory for this example only
	defer fake.Close()
	cfg := &zohoauth.Config{
		ClientID:     "test-client-id", // your client's id and secret
		ClientSecret: "test-client-secret",
		RedirectURL:  "https://app.example.com/oauth/callback",
		Scopes:       []string{"ZohoCRM.modules.ALL"},
		// Only for this example: leave HTTPClient nil in production.
		HTTPClient: &http.Client{Transport: fake.Transport()},
	}
	store := &zohoauth.MemoryStore{} // a file or Redis store in production

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		state := rand.Text()
		http.SetCookie(w, &http.Cookie{Name: "zoho_state", Value: state, Path: "/oauth/",
			MaxAge: 600, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, cfg.AuthCodeURL(state, zohoauth.PromptConsent()), http.StatusFound)
	})
	mux.HandleFunc("GET /oauth/callback", func(w http.ResponseWriter, r *http.Request) {
		state, err := r.Cookie("zoho_state")
		if err != nil {
			http.Error(w, "the sign-in took too long; start again", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "zoho_state", Path: "/oauth/", MaxAge: -1})
		tok, err := cfg.ExchangeRedirect(r.Context(), r, state.Value)
		if err != nil {
			http.Error(w, "could not connect to Zoho: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := store.Save(r.Context(), tok); err != nil {
			http.Error(w, "could not keep the token", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "connected to %s", tok.APIDomain)
	})

	// What a browser does: visit /login, consent at Zoho as a user of the
	// EU data center, come back.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "https://app.example.com/login", nil))
	consent, _ := url.Parse(rec.Header().Get("Location"))
	fmt.Println("consent page:", consent.Host+consent.Path)
	cookie := rec.Result().Cookies()[0]
	approved, err := fake.ApproveConsent(consent.String(), "eu")
	if err != nil {
		fmt.Println(err)
		return
	}
	back := func(accountsServer string) {
		u, _ := url.Parse(approved)
		q := u.Query()
		q.Set("accounts-server", accountsServer)
		u.RawQuery = q.Encode()
		req := httptest.NewRequest("GET", u.String(), nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	back("https://accounts.zoho.eu")
	back("https://accounts.zoho.eu.attacker.example") // a forged redirect
	// Output:
	// consent page: accounts.zoho.com/oauth/v2/auth
	// 200 connected to https://www.zohoapis.eu
	// 400 could not connect to Zoho: zohoauth: accounts server is not a known Zoho accounts host: "https://accounts.zoho.eu.attacker.example"
}

// Against the fake Zoho: an EU user's code works only at the EU accounts
// server, which the redirect names; the token then works at the EU API.
func TestExchangeRedirectAgainstZohotest(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	defer s.Close()
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret",
		RedirectURL: "https://app.example.com/oauth/callback", HTTPClient: &http.Client{Transport: s.Transport()}}

	// Ignoring the redirect's DC (exchanging at the configured US server)
	// fails as it would at Zoho.
	code := s.NewGrantCode("eu")
	_, err := cfg.Exchange(bg(), code)
	if !errors.Is(err, zohoauth.ErrReauthRequired) {
		t.Fatalf("exchange at US: %v, want ErrReauthRequired", err)
	}

	code = s.NewGrantCode("eu")
	r := redirect(map[string]string{"code": code, "state": "s", "location": "eu", "accounts-server": "https://accounts.zoho.eu"})
	tok, err := cfg.ExchangeRedirect(bg(), r, "s")
	if err != nil {
		t.Fatalf("ExchangeRedirect: %v", err)
	}
	if tok.APIDomain != zohoauth.EU.APIDomain || tok.AccountsServer != zohoauth.EU.AccountsURL {
		t.Fatalf("token %v", tok)
	}
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
	defer src.Close()
	hc := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: s.Transport()}}
	resp, err := hc.Get(tok.APIDomain + "/crm/v8/Leads?fields=Last_Name")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A refresh goes to the EU server too, although cfg names none.
	if _, err := src.Refresh(bg()); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if st := s.Stats(); resp.StatusCode != http.StatusNoContent || st.TokenCalls["authorization_code"] != 2 || st.TokenCalls["refresh_token"] != 1 {
		t.Errorf("API status %d, stats %+v", resp.StatusCode, st.TokenCalls)
	}
}
