package zohotest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-zoho/zohoauth/zohotest"
)

// authURL is a consent page address as zohoauth's AuthCodeURL builds it.
func authURL(accounts string, kv ...string) string {
	v := url.Values{
		"response_type": {"code"}, "client_id": {"test-client-id"}, "access_type": {"offline"},
		"scope": {"ZohoCRM.modules.ALL,ZohoCRM.users.READ"}, "redirect_uri": {"http://127.0.0.1:8080/callback?app=1"}, "state": {"st4te"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return accounts + "/oauth/v2/auth?" + v.Encode()
}

// noRedirects is a client that reports redirects instead of following them.
func noRedirects(c *http.Client) *http.Client {
	n := *c
	n.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &n
}

func TestConsentPage(t *testing.T) {
	_, mem := newServer(t, zohotest.Options{})
	c := noRedirects(mem)
	us := "https://accounts.zoho.com"
	r := getPage(t, c, authURL(us))
	for _, want := range []string{`<li class="scope">ZohoCRM.modules.ALL</li>`, `<li class="scope">ZohoCRM.users.READ</li>`, `id="accept"`, `id="deny"`, "http://127.0.0.1:8080/callback?app=1", `name="state" value="st4te"`} {
		if !strings.Contains(r.Raw, want) {
			t.Errorf("consent page lacks %s: %s", want, r.Raw)
		}
	}

	// Accept, as the page's form posts it, for a user of the EU.
	fields := url.Values{}
	for _, k := range []string{"response_type", "client_id", "scope", "redirect_uri", "state", "access_type"} {
		u, _ := url.Parse(authURL(us))
		fields.Set(k, u.Query().Get(k))
	}
	fields.Set("decision", "accept")
	fields.Set("location", "eu")
	r = postTo(t, c, us+"/oauth/v2/auth", fields)
	if r.Status != http.StatusFound {
		t.Fatalf("accept: %d %s", r.Status, r.Raw)
	}
	to, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := to.Query()
	if to.Host != "127.0.0.1:8080" || to.Path != "/callback" || q.Get("app") != "1" || q.Get("state") != "st4te" ||
		q.Get("location") != "eu" || q.Get("accounts-server") != "https://accounts.zoho.eu" || !tokenShape.MatchString(q.Get("code")) {
		t.Errorf("redirect: %s", to)
	}
	wantToken(t, exchange(t, c, zohotest.DC{AccountsURL: "https://accounts.zoho.eu"}, q.Get("code")))

	fields.Set("decision", "deny")
	r = postTo(t, c, us+"/oauth/v2/auth", fields)
	to, _ = url.Parse(r.Header.Get("Location"))
	if r.Status != http.StatusFound || to.Query().Get("error") != "access_denied" || to.Query().Get("state") != "st4te" || to.Query().Has("code") {
		t.Errorf("deny: %d %s", r.Status, to)
	}
}

func TestConsentPageRefusesBadRequests(t *testing.T) {
	_, mem := newServer(t, zohotest.Options{Login: zohotest.LoginOptions{RedirectURIs: []string{"https://app.example/cb"}}})
	c := noRedirects(mem)
	us := "https://accounts.zoho.com"
	for _, tc := range []struct {
		name string
		kv   []string
		want string
	}{
		{"unregistered redirect", nil, "not registered"},
		{"unknown client", []string{"client_id", "other", "redirect_uri", "https://app.example/cb"}, "invalid client"},
		{"no scope", []string{"scope", "", "redirect_uri", "https://app.example/cb"}, "no scope"},
		{"token response type", []string{"response_type", "token", "redirect_uri", "https://app.example/cb"}, "response_type"},
		{"javascript redirect", []string{"redirect_uri", "javascript:alert(1)"}, "redirect_uri"},
	} {
		r := getPage(t, c, authURL(us, tc.kv...))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Raw, tc.want) || r.Header.Get("Location") != "" {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Raw)
		}
	}
	if r := getPage(t, c, authURL(us, "redirect_uri", "https://app.example/cb")); r.Status != http.StatusOK {
		t.Errorf("registered redirect: %d %s", r.Status, r.Raw)
	}
}

func TestConsentHooks(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	to, err := s.ApproveConsent(authURL("https://accounts.zoho.com"), "")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	if u.Query().Get("location") != "us" || u.Query().Get("accounts-server") != "https://accounts.zoho.com" || u.Query().Get("state") != "st4te" {
		t.Errorf("approve: %s", to)
	}
	wantToken(t, exchange(t, c, s.DC("us"), u.Query().Get("code")))

	to, err = s.DenyConsent(authURL("https://accounts.zoho.eu", "state", ""))
	if err != nil || !strings.HasSuffix(to, "error=access_denied") {
		t.Errorf("deny: %s, %v", to, err)
	}
	for _, bad := range []string{"https://evil.example/oauth/v2/auth?x", "https://accounts.zoho.com/oauth/v2/token", authURL("https://accounts.zoho.com", "client_id", "nope")} {
		if _, err := s.ApproveConsent(bad, ""); err == nil {
			t.Errorf("approved %s", bad)
		}
	}
	if _, err := s.ApproveConsent(authURL("https://accounts.zoho.com"), "mars"); err == nil {
		t.Error("approved for an unknown location")
	}
}

func TestConsentOverLoopback(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	t.Cleanup(s.Close)
	s.Start()
	c := noRedirects(loopbackClient(t))
	us, eu := s.DC("us"), s.DC("eu")
	r := getPage(t, c, authURL(us.AccountsURL))
	if r.Status != http.StatusOK || !strings.Contains(r.Raw, `id="accept"`) {
		t.Fatalf("page over loopback: %d %s", r.Status, r.Raw)
	}
	for loc, want := range map[string]string{"": us.AccountsURL, "eu": eu.AccountsURL} {
		to, err := s.ApproveConsent(authURL(us.AccountsURL), loc)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(to)
		if got := u.Query().Get("accounts-server"); got != want {
			t.Errorf("location %q: accounts-server %s, want %s", loc, got, want)
		}
		wantToken(t, exchange(t, c, zohotest.DC{AccountsURL: u.Query().Get("accounts-server")}, u.Query().Get("code")))
	}
	start := deviceCode(t, c, us.AccountsURL, url.Values{"client_id": {"test-client-id"}, "grant_type": {"device_request"}, "scope": {"ZohoCRM.modules.ALL"}})
	if start.str("verification_url") != us.AccountsURL+"/oauth/v3/device" {
		t.Errorf("verification_url over loopback: %s", start.Raw)
	}
}
