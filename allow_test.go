package zohoauth_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"github.com/jarcoal/httpmock"
)

// The test's own model of Zoho's hosts, written from ZOHO.md apart from the
// package's tables: each data center's two domains, and the first labels of
// the product API hosts under each.
var (
	testDomains = map[string][2]string{ // location: {zoho domain, API domain}
		"us": {"zoho.com", "zohoapis.com"}, "eu": {"zoho.eu", "zohoapis.eu"}, "in": {"zoho.in", "zohoapis.in"},
		"au": {"zoho.com.au", "zohoapis.com.au"}, "jp": {"zoho.jp", "zohoapis.jp"}, "cn": {"zoho.com.cn", "zohoapis.com.cn"},
		"ca": {"zohocloud.ca", "zohoapis.ca"}, "sa": {"zoho.sa", "zohoapis.sa"}, "uk": {"zoho.uk", "zohoapis.uk"},
		"ae": {"zoho.ae", "zohoapis.ae"},
	}
	productLabels = []string{"desk", "mail", "projectsapi", "people", "recruit", "analyticsapi", "sign", "cliq",
		"campaigns", "sprintsapi", "vault", "books", "inventory", "invoice", "subscriptions", "expense", "workdrive", "creator"}
	apiLabels = []string{"www", "sandbox", "developer", "content"}
)

// allowedHosts is every host a token of location may go to, by the test's
// model.
func allowedHosts(location string) []string {
	d := testDomains[location]
	var hosts []string
	for _, l := range productLabels {
		hosts = append(hosts, l+"."+d[0])
	}
	for _, l := range apiLabels {
		hosts = append(hosts, l+"."+d[1])
	}
	return hosts
}

func tokenOf(location string) *zohoauth.Token {
	return &zohoauth.Token{AccessToken: "1000.access-" + location + ".secret", APIDomain: "https://www." + testDomains[location][1],
		Expiry: time.Now().Add(time.Hour)}
}

// sentToken sends one request for rawURL through a Transport and reports
// whether it carried the Authorization header, and whether the source was
// asked for a token.
func sentToken(t *testing.T, tr *zohoauth.Transport, rawURL string) (sent, asked bool) {
	t.Helper()
	counter := &countingSource{TokenSource: tr.Source}
	tr.Source = counter
	defer func() { tr.Source = counter.TokenSource }()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("%q: %v", rawURL, err)
	}
	got, err := authorizationSent(tr, &http.Request{Method: "GET", URL: u, Header: http.Header{}})
	if err != nil {
		t.Fatalf("%s: %v", rawURL, err)
	}
	return got != "", counter.n.Load() > 0
}

// authorizationSent sends req through tr to a base transport that answers
// 200, and returns the Authorization header the base transport was given.
func authorizationSent(tr *zohoauth.Transport, req *http.Request) (string, error) {
	var got string
	tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Get("Authorization")
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	_, err := tr.RoundTrip(req)
	return got, err
}

type countingSource struct {
	zohoauth.TokenSource
	n atomic.Int32
}

func (c *countingSource) Token(ctx context.Context) (*zohoauth.Token, error) {
	c.n.Add(1)
	return c.TokenSource.Token(ctx)
}

// hostCases are requests for an EU token, and whether each carries it.
var hostCases = []struct {
	name, url string
	want      bool
}{
	{"api domain", "https://www.zohoapis.eu/crm/v8/Leads", true},
	{"upper case is the same host", "https://WWW.ZOHOAPIS.EU/crm/v8/Leads", true},
	{"upper case product host", "https://Desk.Zoho.EU/api/v1/tickets", true},
	{"trailing dot is the same host", "https://desk.zoho.eu./api/v1/tickets", true},
	{"explicit default port", "https://mail.zoho.eu:443/api/accounts", true},
	{"another port", "https://www.zohoapis.eu:8443/crm/v8/Leads", false},
	{"user info", "https://user:pw@www.zohoapis.eu/crm/v8/Leads", false},
	{"user info lookalike", "https://www.zohoapis.eu@evil.example/crm/v8/Leads", false},
	{"plain http", "http://www.zohoapis.eu/crm/v8/Leads", false},
	{"plain http product", "http://desk.zoho.eu/api/v1/tickets", false},
	{"zoho web site", "https://www.zoho.eu/", false},
	{"zoho help site", "https://help.zoho.eu/portal", false},
	{"zoho accounts server", "https://accounts.zoho.eu/oauth/v2/token", false},
	{"bare domain", "https://zoho.eu/", false},
	{"bare api domain", "https://zohoapis.eu/crm/v8/Leads", false},
	{"two labels under the api domain", "https://a.b.zohoapis.eu/crm", false},
	{"unknown label under zoho", "https://evil.zoho.eu/api", false},
	{"suffix trick", "https://www.zohoapis.eu.evil.example/x", false},
	{"prefix trick", "https://evilzohoapis.eu/x", false},
	{"dotted I (U+0130)", "https://www.zohoap%C4%B0s.eu/crm/v8/Leads", false},
	{"dotted I in a product host", "https://desk.zoho.eu%C4%B0/api", false},
	{"dotless i", "https://www.zohoap\u0131s.eu/x", false},
	{"kelvin sign", "https://desk.zoho.eu/x?\u212a", true}, // only the host counts
	{"kelvin sign in host", "https://www.zohoapis.e\u212a/x", false},
	{"fullwidth dots", "https://www\uff0ezohoapis\uff0eeu/x", false},
	{"ideographic full stop", "https://www.zohoapis\u3002eu/x", false},
	{"cyrillic o", "https://www.z\u043ehoapis.eu/x", false},
	{"cyrillic e", "https://desk.zoho.\u0435u/api", false},
	{"punycode of a lookalike", "https://www.xn--zohoaps-4ya.eu/x", false},
	{"punycode label", "https://xn--desk-9ya.zoho.eu/api", false},
	{"another dc", "https://www.zohoapis.com/crm/v8/Leads", false},
	{"another dc product", "https://desk.zoho.com/api/v1/tickets", false},
	{"loopback not the api domain", "http://127.0.0.1:9/x", false},
	{"foreign host", "https://example.org/x", false},
}

func TestHostDecisions(t *testing.T) {
	for location := range testDomains {
		tr := &zohoauth.Transport{Source: staticSource{tok: tokenOf(location)}}
		for _, host := range allowedHosts(location) {
			if sent, _ := sentToken(t, tr, "https://"+host+"/api/v1/x"); !sent {
				t.Errorf("%s token: %s got no token", location, host)
			}
		}
		for other := range testDomains {
			if other == location {
				continue
			}
			for _, host := range allowedHosts(other) {
				if sent, _ := sentToken(t, tr, "https://"+host+"/api/v1/x"); sent {
					t.Errorf("%s token sent to %s, a host of %s", location, host, other)
				}
			}
		}
	}

	eu := &zohoauth.Transport{Source: staticSource{tok: tokenOf("eu")}}
	for _, c := range hostCases {
		if sent, _ := sentToken(t, eu, c.url); sent != c.want {
			t.Errorf("%s (%s): token sent = %v, want %v", c.name, c.url, sent, c.want)
		}
	}
}

func TestAllowedHostsAndLoopbackAPIDomain(t *testing.T) {
	tok := tokenOf("eu")
	tr := &zohoauth.Transport{Source: staticSource{tok: tok},
		AllowedHosts: []string{"proxy.internal:8443", "Other.Internal.", "127.0.0.1:9", "b\u00fccher.example"}}
	for url, want := range map[string]bool{
		"https://proxy.internal:8443/x":      true,
		"https://proxy.internal/x":           false, // the entry names a port
		"https://other.internal/x":           true,
		"https://other.internal:9443/x":      true, // an entry without a port takes any
		"http://127.0.0.1:9/x":               true,
		"http://other.internal/x":            false, // plain http only to loopback
		"https://b%C3%BCcher.example/x":      false, // entries are ASCII; this one matches nothing
		"https://xn--bcher-kva.example/x":    false,
		"https://user@proxy.internal:8443/x": false,
	} {
		if sent, _ := sentToken(t, tr, url); sent != want {
			t.Errorf("%s: token sent = %v, want %v", url, sent, want)
		}
	}

	loop := &zohoauth.Token{AccessToken: "1000.loop.secret", APIDomain: "http://127.0.0.1:8080", Expiry: time.Now().Add(time.Hour)}
	tr = &zohoauth.Transport{Source: staticSource{tok: loop}}
	for url, want := range map[string]bool{
		"http://127.0.0.1:8080/crm/v8/Leads": true,
		"http://127.0.0.1:8081/crm/v8/Leads": false,
		"http://localhost:8080/crm/v8/Leads": false, // another name
		"https://www.zohoapis.eu/crm/v8/x":   false, // no data center known
	} {
		if sent, _ := sentToken(t, tr, url); sent != want {
			t.Errorf("loopback api_domain, %s: token sent = %v, want %v", url, sent, want)
		}
	}
}

// A token whose api_domain is not a Zoho API host (a tampered file, an
// endpoint's odd answer) does not open that host; its data center comes
// from the accounts server then.
func TestForeignAPIDomainGetsNoToken(t *testing.T) {
	for _, domain := range []string{"https://evil.example", "https://www.zohoapis.eu.evil.example", "http://www.zohoapis.eu",
		"https://www.zohoapis.eu:8443", "https://user@www.zohoapis.eu", "https://www.zohoap\u0130s.eu", "https://www.zoho.eu"} {
		tok := &zohoauth.Token{AccessToken: "1000.a.b", APIDomain: domain, AccountsServer: zohoauth.EU.AccountsURL,
			Expiry: time.Now().Add(time.Hour)}
		tr := &zohoauth.Transport{Source: staticSource{tok: tok}}
		u, _ := url.Parse(domain)
		if sent, _ := sentToken(t, tr, "https://"+u.Host+"/crm/v8/Leads"); sent && u.Host != "www.zohoapis.eu" {
			t.Errorf("api_domain %q: its host got the token", domain)
		}
		if sent, _ := sentToken(t, tr, "https://desk.zoho.eu/api/v1/tickets"); !sent {
			t.Errorf("api_domain %q: the accounts server's data center lost its hosts", domain)
		}
	}
}

// Requests that are not for Zoho never reach the source: with an expired
// token and a failing token endpoint, they still go out, untouched.
func TestNonZohoRequestNeverFetchesAToken(t *testing.T) {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	access, refresh := srv.IssueToken("eu")
	srv.SetFault(zohotest.Fault{Status: http.StatusServiceUnavailable})
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret", AccountsURL: zohoauth.EU.AccountsURL,
		HTTPClient: &http.Client{Transport: srv.Transport()}}
	expired := &zohoauth.Token{AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.EU.APIDomain,
		AccountsServer: zohoauth.EU.AccountsURL, Expiry: time.Now().Add(-time.Minute)}
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(expired))
	defer src.Close()
	var seen []*http.Request
	tr := &zohoauth.Transport{Source: src, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.Contains(r.URL.Host, "zohoapis") {
			return srv.Transport().RoundTrip(r)
		}
		seen = append(seen, r)
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("cdn")), Request: r}, nil
	})}
	client := &http.Client{Transport: tr}
	for _, u := range []string{"https://cdn.example.org/file.png", "https://www.zoho.eu/", "https://hooks.example.com/x"} {
		req, _ := http.NewRequest("GET", u, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", u, resp.StatusCode)
		}
		if got := seen[len(seen)-1]; got != req || got.Header.Get("Authorization") != "" {
			t.Errorf("%s: the base got another request, or one with a token", u)
		}
	}
	if n := srv.Stats().TokenCalls["refresh_token"]; n != 0 {
		t.Errorf("token calls = %d, want 0", n)
	}
	// A Zoho request through the same client does need the token, and fails.
	if resp, err := client.Get(zohoauth.EU.APIDomain + "/crm/v8/Leads"); err == nil {
		resp.Body.Close()
		t.Error("Zoho request without a token succeeded")
	}
	if n := srv.Stats().TokenCalls["refresh_token"]; n == 0 {
		t.Error("the Zoho request made no token call")
	}
}

// A redirect from any host to a lookalike of Zoho's, or to another data
// center, carries nothing.
func TestRedirectToLookalikeCarriesNothing(t *testing.T) {
	targets := []string{
		"https://www.zohoap%C4%B0s.eu/crm/v8/Leads",
		"https://www.z\u043ehoapis.eu/crm/v8/Leads",
		"https://www.xn--zohoaps-4ya.eu/crm/v8/Leads",
		"https://www.zohoapis.com/crm/v8/Leads",
		"https://www.zohoapis.eu.evil.example/x",
	}
	for _, target := range targets {
		var hops []string
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			hops = append(hops, r.URL.Host+"|"+r.Header.Get("Authorization"))
			if r.URL.Host == "start.example" || r.URL.Host == "www.zohoapis.eu" {
				return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {target}},
					Body: http.NoBody, Request: r}, nil
			}
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
		})
		client := &http.Client{Transport: &zohoauth.Transport{Source: staticSource{tok: tokenOf("eu")}, Base: base}}
		for _, start := range []string{"https://start.example/", "https://www.zohoapis.eu/crm/v8/Leads"} {
			hops = nil
			resp, err := client.Get(start)
			if err != nil {
				continue // the client may refuse the target's name; nothing was sent there
			}
			resp.Body.Close()
			if len(hops) != 2 {
				t.Fatalf("redirect from %s to %s: hops %q, want 2", start, target, hops)
			}
			last := hops[len(hops)-1]
			if !strings.HasSuffix(last, "|") {
				t.Errorf("redirect from %s to %s carried a token: %q", start, target, hops)
			}
		}
	}
}

// An exchange answer whose api_domain is not a Zoho API host gets the data
// center's own, from the accounts server that answered.
func TestExchangeReplacesForeignAPIDomain(t *testing.T) {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder("POST", "https://accounts.zoho.eu/oauth/v2/token", httpmock.NewStringResponder(200,
		`{"access_token":"1000.access-new.secret","refresh_token":"`+testRefresh+`","api_domain":"https://evil.example","expires_in":3600}`))
	cfg := mockConfig(mt)
	cfg.AccountsURL = zohoauth.EU.AccountsURL
	tok, err := cfg.Exchange(bg(), testGrantCode)
	if err != nil {
		t.Fatal(err)
	}
	if tok.APIDomain != zohoauth.EU.APIDomain {
		t.Errorf("api_domain = %q, want %q", tok.APIDomain, zohoauth.EU.APIDomain)
	}
}

// Before a 401 replay the fresh token is checked again: one whose data
// center changed may not go to the old one's host, and the 401 comes back.
func TestReplayChecksTheFreshTokensHosts(t *testing.T) {
	srv := newZoho(t, zohotest.Options{})
	eu, refresh := srv.IssueToken("eu")
	srv.RevokeAccessToken(eu) // the EU API answers 401 INVALID_TOKEN
	us, _ := srv.IssueToken("us")
	// The EU accounts server answers the refresh with a US token.
	srv.Script(zohotest.Fault{Body: `{"access_token":"` + us + `","api_domain":"https://www.zohoapis.com","expires_in":3600}`})
	const body401 = `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`
	cfg := fakeCredentials(srv.Transport())
	cfg.AccountsURL = zohoauth.EU.AccountsURL
	tok := &zohoauth.Token{AccessToken: eu, RefreshToken: refresh, APIDomain: zohoauth.EU.APIDomain,
		AccountsServer: zohoauth.EU.AccountsURL, Expiry: time.Now().Add(time.Hour)}
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
	defer src.Close()
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: srv.Transport()}}
	resp, err := client.Get("https://www.zohoapis.eu/crm/v8/Leads?fields=Last_Name")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || string(got) != body401 {
		t.Errorf("got %d %q, want the first 401", resp.StatusCode, got)
	}
	if auths := srv.Stats().AuthHeaders; len(auths) != 1 || strings.Contains(strings.Join(auths, ","), us) || len(tokenCalls(srv)) != 1 {
		t.Errorf("API saw %q after %d token calls; the US token must not be replayed to the EU host", auths, len(tokenCalls(srv)))
	}
}

// Authorizes answers as RoundTrip decides.
func TestAuthorizesAgreesWithRoundTrip(t *testing.T) {
	tr := &zohoauth.Transport{Source: staticSource{tok: tokenOf("eu")}, AllowedHosts: []string{"proxy.internal"}}
	for _, raw := range []string{"https://www.zohoapis.eu/crm/v8/Leads", "https://desk.zoho.eu/api/v1/tickets",
		"https://desk.zoho.com/api/v1/tickets", "https://www.zoho.eu/", "http://www.zohoapis.eu/x",
		"https://proxy.internal/x", "https://www.zohoap%C4%B0s.eu/x", "https://u@mail.zoho.eu/api"} {
		u, _ := url.Parse(raw)
		sent, _ := sentToken(t, tr, raw)
		if got := tr.Authorizes(u, tokenOf("eu")); got != sent {
			t.Errorf("%s: Authorizes = %v, RoundTrip sent the token: %v", raw, got, sent)
		}
	}
	if (&zohoauth.Transport{}).Authorizes(&url.URL{Scheme: "https", Host: "www.zohoapis.eu"}, nil) {
		t.Error("Authorizes without a token said yes")
	}
}

// FuzzHostDecision sends a request for any URL through a Transport holding
// an EU token, with at most one AllowedHosts entry, and holds the decision
// to the test's own model: the header goes out only over https (or http to
// loopback), without user info, to a host whose ASCII form is a host of the
// token's data center on the default port, or the entry's host on the
// entry's port. It also goes out to every host of the model.
func FuzzHostDecision(f *testing.F) {
	urls := []string{"http://[::1]:9/x", "https://proxy.example.com:8443/x", "https:www.zohoapis.eu/crm",
		"https://evil.zohoapis.eu/x", "https://desk.zoho.com/api"}
	for _, c := range hostCases {
		urls = append(urls, c.url)
	}
	for _, u := range urls {
		for _, entry := range []string{"", "proxy.example.com", "proxy.example.com:8443", "127.0.0.1:9", "DESK.ZOHO.COM.",
			"www.zohoap\u0130s.eu", "[::1]"} {
			f.Add(u, entry)
		}
	}
	model := map[string]bool{}
	for _, h := range allowedHosts("eu") {
		model[h] = true
	}
	f.Fuzz(func(t *testing.T, rawURL, entry string) {
		u, err := url.Parse(rawURL)
		if err != nil {
			return
		}
		tok := tokenOf("eu")
		tr := &zohoauth.Transport{Source: staticSource{tok: tok}}
		if entry != "" {
			tr.AllowedHosts = []string{entry}
		}
		req := &http.Request{Method: "GET", URL: u, Header: http.Header{}}
		got, err := authorizationSent(tr, req)
		if err != nil && strings.Contains(err.Error(), tok.AccessToken) {
			t.Fatalf("%q: the error shows the token", rawURL)
		}
		if req.Header.Get("Authorization") != "" {
			t.Fatalf("%q: the caller's request was changed", rawURL)
		}
		h, ascii := modelHost(u.Hostname())
		port := u.Port()
		plain := u.User == nil && u.Opaque == "" && ascii
		zohoOK := plain && u.Scheme == "https" && (port == "" || port == "443") &&
			(model[h] || isOneLabelUnder(h, "zohoapis.eu"))
		if got == "" {
			if zohoOK && entry == "" {
				t.Fatalf("%q: a host of the token's data center got no token", rawURL)
			}
			return
		}
		if got != "Zoho-oauthtoken "+tok.AccessToken {
			t.Fatalf("%q: Authorization is not the token's header", rawURL)
		}
		if !zohoOK && !(plain && entryAllows(entry, u.Scheme, h, port)) {
			t.Fatalf("%q (AllowedHosts %q): the token went to a host outside the allowlist", rawURL, entry)
		}
	})
}

// modelHost is the test's canonical form of a host: one trailing dot
// removed, lower case, and whether it is all printable ASCII. The check
// comes first: strings.ToLower turns U+0130 into an ASCII i.
func modelHost(host string) (string, bool) {
	host = strings.TrimSuffix(host, ".")
	for i := 0; i < len(host); i++ {
		if host[i] <= ' ' || host[i] >= 0x7f {
			return host, false
		}
	}
	return strings.ToLower(host), host != ""
}

// isOneLabelUnder reports whether host is one non-empty label under domain.
func isOneLabelUnder(host, domain string) bool {
	label, ok := strings.CutSuffix(host, "."+domain)
	return ok && label != "" && !strings.Contains(label, ".")
}

// entryAllows is the test's reading of one AllowedHosts entry: its host,
// and its port if it names one (443 and 80 also match the scheme's default
// port); over https, or http to a loopback host.
func entryAllows(entry, scheme, host, port string) bool {
	eh, ep := entry, ""
	if h, p, err := net.SplitHostPort(entry); err == nil {
		eh, ep = h, p
	}
	eh, ok := modelHost(eh)
	if !ok || eh != host {
		return false
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if scheme != "https" && !(scheme == "http" && loopback) {
		return false
	}
	def := (scheme == "https" && port == "443") || (scheme == "http" && port == "80")
	return ep == "" || ep == port || ((port == "" || def) && (ep == "443" || ep == "80"))
}
