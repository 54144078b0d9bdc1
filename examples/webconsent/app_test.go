package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// site is the app served on loopback, talking to the fake Zoho in memory.
type site struct {
	t     *testing.T
	zoho  *zohotest.Server
	url   string
	store *zohoauth.FileStore
}

func newSite(t *testing.T) *site {
	zoho := zohotest.New(zohotest.Options{})
	t.Cleanup(zoho.Close)
	store := zohoauth.NewFileStore(filepath.Join(t.TempDir(), "token.json"))
	a := &app{
		cfg: &zohoauth.Config{
			ClientID: "test-client-id", ClientSecret: "test-client-secret",
			Scopes:     []string{"ZohoCRM.modules.ALL", "ZohoCRM.users.READ"},
			HTTPClient: &http.Client{Transport: zoho.Transport()},
		},
		store: store,
		log:   slog.New(slog.DiscardHandler),
	}
	ts := httptest.NewServer(a.handler())
	t.Cleanup(ts.Close)
	a.cfg.RedirectURL = ts.URL + "/callback"
	return &site{t: t, zoho: zoho, url: ts.URL, store: store}
}

// browser is a client with cookies that stops at redirects to other hosts
// (Zoho's pages are not served over the network here).
func (s *site) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), s.url) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// connect presses "Connect Zoho" and returns the consent page address.
func (s *site) connect(c *http.Client) string {
	s.t.Helper()
	resp, err := c.PostForm(s.url+"/connect", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	to := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(to, "https://accounts.zoho.com/oauth/v2/auth?") {
		s.t.Fatalf("connect: %d %s", resp.StatusCode, to)
	}
	return to
}

func TestConsentStoresTheToken(t *testing.T) {
	for _, loc := range []string{"us", "eu"} {
		t.Run(loc, func(t *testing.T) {
			s := newSite(t)
			c := s.browser()
			if _, body := get(t, c, s.url+"/"); !strings.Contains(body, `id="connect"`) {
				t.Fatalf("home: %s", body)
			}
			authURL := s.connect(c)
			u, _ := url.Parse(authURL)
			if q := u.Query(); q.Get("state") == "" || q.Get("prompt") != "consent" || q.Get("scope") != "ZohoCRM.modules.ALL,ZohoCRM.users.READ" || q.Get("redirect_uri") != s.url+"/callback" {
				t.Errorf("consent address: %s", authURL)
			}
			back, err := s.zoho.ApproveConsent(authURL, loc)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := get(t, c, back)
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/token" {
				t.Fatalf("after consent: %d %s %s", resp.StatusCode, resp.Request.URL, body)
			}
			tok, err := s.store.Load(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := zohoauth.US
			if loc == "eu" {
				want = zohoauth.EU
			}
			if tok.AccountsServer != want.AccountsURL || tok.APIDomain != want.APIDomain || tok.RefreshToken == "" {
				t.Errorf("stored %v", tok)
			}
			for _, s := range []string{`<td id="dc">` + loc + `</td>`, want.AccountsURL, want.APIDomain, "<li>ZohoCRM.users.READ</li>", `<td id="refresh">stored</td>`} {
				if !strings.Contains(body, s) {
					t.Errorf("token page lacks %s:\n%s", s, body)
				}
			}
			if strings.Contains(body, tok.AccessToken) || strings.Contains(body, tok.RefreshToken) {
				t.Error("the token page shows a token")
			}
			// The state is used up: the same answer again is refused.
			if resp, _ := get(t, c, back); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("replayed answer: %d", resp.StatusCode)
			}
		})
	}
}

func TestConsentDeniedOrForged(t *testing.T) {
	s := newSite(t)
	c := s.browser()
	back, err := s.zoho.DenyConsent(s.connect(c))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, c, back)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "access_denied") {
		t.Errorf("denied: %d %s", resp.StatusCode, body)
	}

	// An answer for someone else's consent, in a browser that started none
	// or another one.
	other, err := s.zoho.ApproveConsent(s.connect(s.browser()), "")
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, s.browser(), other); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no state cookie: %d", resp.StatusCode)
	}
	s.connect(c)
	if resp, body := get(t, c, other); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "does not match") {
		t.Errorf("another state: %d %s", resp.StatusCode, body)
	}
	if _, err := s.store.Load(t.Context()); err == nil {
		t.Error("a token was stored")
	}
	if resp, _ := get(t, c, s.url+"/token"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("token page without a token: %d", resp.StatusCode)
	}
}
