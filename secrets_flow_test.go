package zohoauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"github.com/jarcoal/httpmock"
)

// TestSecretsNeverLeak drives every public flow of the package against the
// fake Zoho, with every Source logging at debug level, and captures all the
// package emits: log lines, errors (%v, %+v, %#v), every exported value in
// every fmt form, and panics. None may hold an access token, refresh token,
// client secret or grant code, nor 12 bytes of one. Every request that
// leaves through the package's transports is recorded too: the client
// secret, refresh tokens and grant codes go only to Zoho's accounts hosts,
// in a form body; an Authorization header goes only to Zoho's API hosts
// over https, whatever redirects the API answers with.
//
// The command's output is checked the same way by the secrets test of
// cmd/zohoauth.
func TestSecretsNeverLeak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newLeakWatch(t)
		defer w.check()
		srv := zohotest.New(zohotest.Options{ClientSecret: leakClientSecret})
		defer srv.Close()
		w.srv = srv
		ctx := context.Background()

		w.flow("consent and redirect", func() { flowConsent(w, srv) })
		w.flow("exchange", func() { flowExchange(w, srv) })
		w.flow("refresh and revoke", func() { flowRefreshRevoke(w, srv) })
		w.flow("client credentials", func() { flowClientCredentials(w, srv) })
		w.flow("source, transport and stores", func() { flowSourceStores(w, srv) })
		w.flow("token endpoint failures", func() { flowFailures(w, srv) })
		w.flow("revoked grant under load", func() { flowRevokedGrant(w, srv) })
		w.flow("tampered token file", func() { flowTamperedFile(w, srv) })
		w.flow("API redirects", func() { flowRedirects(w, srv) })
		w.flow("token endpoint redirect", func() { flowTokenRedirect(w, srv) })
		w.flow("every exported type", func() { flowEveryType(w, srv) })
		w.flow("misuse", func() {
			var nilSource *zohoauth.Source
			_, _ = nilSource.Token(ctx) // panics; the panic is captured
		})
	})
}

const (
	leakClientSecret = "cs-5e1f0b9a77c2d4e8b3a6"
	leakWrongSecret  = "cs-WRONG-0d2c9e8f7a6b"
	leakWindow       = 12 // bytes of a secret that count as a leak
)

// leakWatch collects the secrets in play, everything the package emitted,
// and every request it sent.
type leakWatch struct {
	t   *testing.T
	srv *zohotest.Server

	mu       sync.Mutex
	secrets  map[string]string // value: what it is
	outputs  []emitted
	requests []sentRequest
	flows    int
	panics   int
}

type emitted struct{ what, text string }

type sentRequest struct {
	via         string // "token" or "api"
	method, url string
	header      http.Header
	body        string
}

func newLeakWatch(t *testing.T) *leakWatch {
	w := &leakWatch{t: t, secrets: map[string]string{}}
	w.secret(leakClientSecret, "client secret")
	w.secret(leakWrongSecret, "client secret")
	return w
}

func (w *leakWatch) secret(v, what string) {
	if v == "" {
		return
	}
	w.mu.Lock()
	w.secrets[v] = what
	w.mu.Unlock()
}

// emit records text the package produced.
func (w *leakWatch) emit(what, text string) {
	w.mu.Lock()
	w.outputs = append(w.outputs, emitted{what, text})
	w.mu.Unlock()
}

// err records an error in every form a caller might print it.
func (w *leakWatch) err(what string, err error) {
	if err != nil {
		w.emit(what, fmt.Sprintf("%v\n%+v\n%#v\n%s\n%q", err, err, err, err.Error(), err))
	}
}

// value records v in every fmt form.
func (w *leakWatch) value(what string, v any) { w.emit(what, everyFormat(v)) }

// code is a new grant code of the data center at loc.
func (w *leakWatch) code(loc string) string {
	c := w.srv.NewGrantCode(loc)
	w.secret(c, "grant code")
	return c
}

// tok records a token's secrets and its printed forms.
func (w *leakWatch) tok(what string, tok *zohoauth.Token) {
	if tok == nil {
		return
	}
	w.secret(tok.AccessToken, "access token")
	w.secret(tok.RefreshToken, "refresh token")
	w.value(what, tok)
	w.value(what, *tok)
}

// logger returns a debug logger whose output is recorded, as text or JSON.
func (w *leakWatch) logger(json bool) *slog.Logger {
	h := slog.Handler(nil)
	lw := logWriter{w}
	if json {
		h = slog.NewJSONHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug})
	} else {
		h = slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return slog.New(h)
}

type logWriter struct{ w *leakWatch }

func (l logWriter) Write(p []byte) (int, error) {
	l.w.emit("log", string(p))
	return len(p), nil
}

// transport records each request sent through base, and learns the tokens
// in token endpoint answers.
func (w *leakWatch) transport(via string, base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		w.mu.Lock()
		w.requests = append(w.requests, sentRequest{via: via, method: r.Method, url: r.URL.String(), header: r.Header.Clone(), body: string(body)})
		w.mu.Unlock()
		resp, err := base.RoundTrip(r)
		if err != nil || !strings.HasPrefix(r.URL.Path, "/oauth/") {
			return resp, err
		}
		j := peekTokenAnswer(resp)
		w.secret(j.AccessToken, "access token")
		w.secret(j.RefreshToken, "refresh token")
		return resp, nil
	})
}

// tokenAnswer is what a token endpoint answer holds.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// peekTokenAnswer reads a token endpoint answer and puts its body back.
func peekTokenAnswer(resp *http.Response) tokenAnswer {
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var j tokenAnswer
	_ = json.Unmarshal(body, &j)
	return j
}

// flow runs one flow, capturing a panic as output.
func (w *leakWatch) flow(name string, fn func()) {
	w.flows++
	defer func() {
		if p := recover(); p != nil {
			w.panics++
			w.emit("panic in "+name, fmt.Sprintf("%v\n%+v\n%#v", p, p, p))
		}
	}()
	fn()
}

func (w *leakWatch) config(loc string, transport http.RoundTripper) *zohoauth.Config {
	dc, _ := zohoauth.LookupDataCenter(loc)
	if transport == nil {
		transport = w.srv.Transport()
	}
	return &zohoauth.Config{
		ClientID: "test-client-id", ClientSecret: leakClientSecret, AccountsURL: dc.AccountsURL,
		RedirectURL: "https://app.example/callback", Scopes: []string{"ZohoCRM.modules.ALL"},
		HTTPClient: &http.Client{Transport: w.transport("token", transport)},
	}
}

func flowConsent(w *leakWatch, srv *zohotest.Server) {
	ctx := context.Background()
	cfg := w.config("us", nil)
	consent := cfg.AuthCodeURL("st4te-9f", zohoauth.PromptConsent())
	w.emit("consent URL", consent)
	if u, err := url.Parse(consent); err != nil || u.Host != "accounts.zoho.com" {
		w.t.Errorf("consent URL %q is not on the accounts server", consent)
	}
	redirect := func(q string) *http.Request {
		return httptest.NewRequest(http.MethodGet, "https://app.example/callback?"+q, nil)
	}
	code := w.code("eu")
	tok, err := cfg.ExchangeRedirect(ctx, redirect("state=st4te-9f&location=eu&accounts-server="+url.QueryEscape(zohoauth.EU.AccountsURL)+"&code="+code), "st4te-9f")
	w.err("ExchangeRedirect", err)
	w.tok("ExchangeRedirect", tok)
	if err != nil {
		w.t.Errorf("ExchangeRedirect: %v", err)
	}
	for _, q := range []string{
		"state=st4te-9f&accounts-server=" + url.QueryEscape("https://accounts.zoho.eu.evil.example") + "&code=" + w.code("eu"),
		"state=forged&location=eu&code=" + w.code("eu"),
		"state=st4te-9f&error=access_denied&code=" + w.code("eu"),
		"state=st4te-9f&location=mars&code=" + w.code("eu"),
	} {
		tok, err := cfg.ExchangeRedirect(ctx, redirect(q), "st4te-9f")
		w.tok("ExchangeRedirect", tok)
		w.err("ExchangeRedirect", err)
		if err == nil {
			w.t.Errorf("ExchangeRedirect(%s) succeeded", q)
		}
	}
	_, err = zohoauth.DataCenterFromRedirect("eu", "https://accounts.zoho.eu@evil.example")
	w.err("DataCenterFromRedirect", err)
}

func flowExchange(w *leakWatch, srv *zohotest.Server) {
	ctx := context.Background()
	cfg := w.config("us", nil)
	code := w.code("us")
	tok, err := cfg.Exchange(ctx, code)
	w.tok("Exchange", tok)
	w.err("Exchange", err)
	_, err = cfg.Exchange(ctx, code) // used up
	w.err("Exchange again", err)
	_, err = cfg.Exchange(ctx, w.code("eu")) // another data center's code
	w.err("Exchange elsewhere", err)
	wrong := w.config("us", nil)
	wrong.ClientSecret = leakWrongSecret
	_, err = wrong.Exchange(ctx, w.code("us"))
	w.err("Exchange with a wrong secret", err)
	w.value("Config", *wrong)
	w.value("*Config", wrong)
	_, err = cfg.Exchange(ctx, "")
	w.err("Exchange without a code", err)
}

func flowRefreshRevoke(w *leakWatch, srv *zohotest.Server) {
	ctx := context.Background()
	cfg, eu := w.config("us", nil), w.config("eu", nil)
	tok, err := eu.Exchange(ctx, w.code("eu"))
	w.tok("Exchange", tok)
	if err != nil {
		w.t.Fatalf("Exchange: %v", err)
	}
	fresh, err := cfg.Refresh(ctx, tok) // goes to the token's EU server
	w.tok("Refresh", fresh)
	w.err("Refresh", err)
	_, err = cfg.Refresh(ctx, &zohoauth.Token{AccessToken: "1000.no.refresh"})
	w.err("Refresh without refresh token", err)
	w.err("Revoke unknown", cfg.Revoke(ctx, "1000.unknown.refresh0token"))
	w.err("Revoke", eu.Revoke(ctx, tok.RefreshToken))
	_, err = cfg.Refresh(ctx, tok)
	w.err("Refresh revoked", err)
	w.value("Error", err)
}

func flowClientCredentials(w *leakWatch, srv *zohotest.Server) {
	ctx := context.Background()
	cfg := w.config("us", nil)
	tok, err := cfg.ClientCredentials(ctx, "ZohoCRM.700123")
	w.tok("ClientCredentials", tok)
	w.err("ClientCredentials", err)
	_, err = cfg.ClientCredentials(ctx, "")
	w.err("ClientCredentials without soid", err)
	src := zohoauth.NewClientCredentialsSource(cfg, "ZohoCRM.700123", zohoauth.WithLogger(w.logger(true)))
	defer src.Close()
	got, err := src.Token(ctx)
	w.tok("client credentials Source", got)
	w.err("client credentials Source", err)
	w.value("client credentials Source", src)
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: w.transport("api", srv.Transport())}}
	w.get(client, "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name")
}

// exchange trades a new grant code of the data center at loc for a token.
func (w *leakWatch) exchange(cfg *zohoauth.Config, loc string) *zohoauth.Token {
	w.t.Helper()
	tok, err := cfg.Exchange(context.Background(), w.code(loc))
	w.tok("Exchange", tok)
	if err != nil {
		w.t.Fatalf("Exchange: %v", err)
	}
	return tok
}

func (w *leakWatch) get(client *http.Client, u string) int { return w.send(client, http.MethodGet, u) }

func (w *leakWatch) post(client *http.Client, u string) int {
	return w.send(client, http.MethodPost, u)
}

// send sends a request (a POST with a body) and records the outcome.
func (w *leakWatch) send(client *http.Client, method, u string) int {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"data":[{"Last_Name":"Leak"}]}`)
	}
	req, _ := http.NewRequest(method, u, body)
	resp, err := client.Do(req)
	w.err(method+" "+u, err)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func flowSourceStores(w *leakWatch, srv *zohotest.Server) {
	ctx := context.Background()
	cfg := w.config("us", nil)
	tok := w.exchange(cfg, "us")
	mem := &zohoauth.MemoryStore{}
	file := zohoauth.NewFileStore(filepath.Join(w.t.TempDir(), "token.json"))
	for i, store := range []zohoauth.Store{mem, file} {
		w.err("Save", store.Save(ctx, tok))
		var hooked *zohoauth.Token
		src := zohoauth.NewSource(cfg, zohoauth.WithStore(store), zohoauth.WithLogger(w.logger(i == 1)),
			zohoauth.WithOnRefresh(func(_ context.Context, t *zohoauth.Token) error {
				hooked = t
				return errors.New("zohoauth_test: hook failed on purpose")
			}))
		client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: w.transport("api", srv.Transport())}}
		w.get(client, "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name")
		w.post(client, "https://www.zohoapis.com/crm/v8/Leads")
		cur, _ := src.Token(ctx)
		srv.RevokeAccessToken(cur.AccessToken) // 401, one refresh, replay
		w.post(client, "https://www.zohoapis.com/crm/v8/Leads")
		time.Sleep(56 * time.Minute) // stale: background refresh
		w.get(client, "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name")
		synctest.Wait()
		time.Sleep(2 * time.Hour) // expired: waited-for refresh
		w.get(client, "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name")
		forced, err := src.Refresh(ctx)
		w.tok("forced Refresh", forced)
		w.err("forced Refresh", err)
		w.tok("hooked", hooked)
		stored, err := store.Load(ctx)
		w.tok("Load", stored)
		w.err("Load", err)
		w.value("Source", src)
		w.value("Store", store)
		w.value("Transport", client.Transport)
		w.value("Transport", *client.Transport.(*zohoauth.Transport))
		w.err("Close", src.Close())
		_, err = src.Refresh(ctx)
		w.err("Refresh after Close", err)
	}
	// A scope the grant lacks: the 401 comes back untouched.
	access, refresh := srv.IssueToken("us", "ZohoCRM.modules.leads.READ")
	w.secret(access, "access token")
	w.secret(refresh, "refresh token")
	narrow := zohoauth.NewSource(cfg, zohoauth.WithToken(&zohoauth.Token{AccessToken: access, RefreshToken: refresh,
		APIDomain: zohoauth.US.APIDomain, Expiry: time.Now().Add(time.Hour)}), zohoauth.WithLogger(w.logger(false)))
	defer narrow.Close()
	client := &http.Client{Transport: &zohoauth.Transport{Source: narrow, Base: w.transport("api", srv.Transport())}}
	if got := w.post(client, "https://www.zohoapis.com/crm/v8/Deals"); got != http.StatusUnauthorized {
		w.t.Errorf("scope mismatch: got %d, want 401", got)
	}
	empty := zohoauth.NewSource(cfg, zohoauth.WithStore(&zohoauth.MemoryStore{}), zohoauth.WithLogger(w.logger(true)))
	defer empty.Close()
	_, err := empty.Token(ctx)
	w.err("Token without any", err)
}

func flowFailures(w *leakWatch, srv *zohotest.Server) {
	ctx := context.Background()
	cfg := w.config("us", nil)
	tok := w.exchange(cfg, "us")
	code := w.code("us")
	echo := tok.RefreshToken + " " + leakClientSecret + " " + code + " " + tok.AccessToken
	faults := []zohotest.Fault{
		{Status: 500}, {Status: 503, Body: `{"error":"` + echo + `"}`}, {Drop: true}, {Latency: time.Hour},
		{Body: "<html>" + echo + "</html>"}, {Body: `{"access_token":"` + tok.AccessToken},
		{Status: 200},
		{Body: `{"error":"invalid_code","error_description":"` + echo + `"}`},
		{Body: `{"error":"` + echo + `","error_description":"` + echo + `"}`},
		{Body: `{"error":"Access Denied","error_description":"You have made too many requests continuously.","status":"failure"}`},
		{Body: `{"error":"访问被拒绝 ` + echo + `"}`},
		{Status: 400, Body: `{"error":"invalid_client","error_description":"` + echo + `"}`},
	}
	for i, f := range faults {
		srv.SetFault(f)
		src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok), zohoauth.WithLogger(w.logger(i%2 == 0)),
			zohoauth.WithRefreshTimeout(5*time.Second))
		_, err := src.Refresh(ctx)
		w.err("forced Refresh under a fault", err)
		_, err = cfg.Refresh(ctx, tok)
		w.err("Refresh under a fault", err)
		_, err = cfg.Exchange(ctx, code)
		w.err("Exchange under a fault", err)
		w.err("Revoke under a fault", cfg.Revoke(ctx, "1000.unknown.refresh0token")) // revoke is not faulted
		client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: w.transport("api", srv.Transport())}}
		srv.RevokeAccessToken(tok.AccessToken)
		w.get(client, "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name")
		w.value("Source under a fault", src)
		w.err("Close", src.Close())
		srv.SetFault(zohotest.Fault{})
		time.Sleep(time.Minute) // keep within Zoho's 10 tokens per 10 minutes
		tok, err = cfg.Refresh(ctx, tok)
		w.tok("Refresh", tok)
		if err != nil {
			w.t.Fatalf("Refresh after fault %d: %v", i, err)
		}
	}
}

func flowRevokedGrant(w *leakWatch, srv *zohotest.Server) {
	cfg := w.config("us", nil)
	tok := w.exchange(cfg, "us")
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok), zohoauth.WithLogger(w.logger(false)))
	defer src.Close()
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: w.transport("api", srv.Transport())}}
	srv.RevokeRefreshToken(tok.RefreshToken)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				w.get(client, "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name")
				w.get(client, "https://www.zohoapis.eu/crm/v8/Leads?fields=Last_Name") // another data center
				time.Sleep(time.Second)
			}
		}()
	}
	wg.Wait()
}

// flowTamperedFile: a token file names an accounts server that is not
// Zoho's. The refresh, with the client secret, still goes to Zoho.
func flowTamperedFile(w *leakWatch, srv *zohotest.Server) {
	ctx := context.Background()
	_, refresh := srv.IssueToken("us")
	w.secret(refresh, "refresh token")
	path := filepath.Join(w.t.TempDir(), "token.json")
	content := fmt.Sprintf(`{"access_token":"1000.expired.tamper","refresh_token":%q,"expiry":"2000-01-01T00:00:00Z","api_domain":"https://www.zohoapis.com","accounts_server":"https://accounts.zoho.com.evil.example"}`, refresh)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
	src := zohoauth.NewSource(w.config("us", nil), zohoauth.WithStore(zohoauth.NewFileStore(path)), zohoauth.WithLogger(w.logger(true)))
	defer src.Close()
	tok, err := src.Token(ctx)
	w.tok("Token from a tampered file", tok)
	w.err("Token from a tampered file", err)
	if err != nil {
		w.t.Errorf("refresh from a tampered file failed: %v", err)
	}
	for _, bad := range []string{`{"access_token":"1000.broken`, `{"access_token":"1000.typed","expiry":"` + refresh + `"}`, ``} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			w.t.Fatal(err)
		}
		_, err := zohoauth.NewFileStore(path).Load(ctx)
		w.err("Load of a damaged file", err)
	}
	if err := os.Chmod(path, 0o644); err == nil {
		_, err := zohoauth.NewFileStore(path).Load(ctx)
		w.err("Load of a readable file", err)
	}
}

// redirector answers API requests under /hop/<status>/ with a redirect to
// the URL in the "to" parameter and passes other API requests to the fake;
// every other host is a sink that answers 200.
func redirector(srv *zohotest.Server) http.RoundTripper {
	mt := httpmock.NewMockTransport()
	zoho := regexp.MustCompile(`^https://[^/]+\.zohoapis\.com/`)
	hop := regexp.MustCompile(`^https://[^/]+\.zohoapis\.com/hop/(\d+)/`)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		mt.RegisterRegexpResponder(method, hop, func(r *http.Request) (*http.Response, error) { // first match wins
			resp := httpmock.NewStringResponse(int(httpmock.MustGetSubmatchAsInt(r, 1)), "")
			resp.Header.Set("Location", r.URL.Query().Get("to"))
			return resp, nil
		})
		mt.RegisterRegexpResponder(method, zoho, srv.Transport().RoundTrip)
	}
	mt.RegisterNoResponder(httpmock.NewStringResponder(http.StatusOK, "sink"))
	return mt
}

func flowRedirects(w *leakWatch, srv *zohotest.Server) {
	cfg := w.config("us", nil)
	tok := w.exchange(cfg, "us")
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
	defer src.Close()
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: w.transport("api", redirector(srv))}}
	targets := []string{
		"https://evil.example/steal",
		"http://www.zohoapis.com/crm/v8/Leads", // plain http, same host
		"http://127.0.0.1:8080/crm/v8/Leads",
		"https://www.zohoapis.com.evil.example/crm/v8/Leads",
		"https://www.zohoapis.com@evil.example/crm/v8/Leads",
		"//evil.example/scheme-relative",
		"https://evilzohoapis.com/crm/v8/Leads",
	}
	hop := func(status int, to string) string {
		return fmt.Sprintf("https://www.zohoapis.com/hop/%d/?to=%s", status, url.QueryEscape(to))
	}
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, to := range targets {
			w.get(client, hop(status, to))
			w.post(client, hop(status, to))
			// Two hops: through another Zoho API host first.
			w.get(client, hop(status, strings.Replace(hop(status, to), "www.", "sandbox.", 1)))
		}
	}
}

// flowTokenRedirect: the accounts server answers with a redirect to another
// host. The client secret must not follow it.
func flowTokenRedirect(w *leakWatch, srv *zohotest.Server) {
	ctx := context.Background()
	base := httpmock.NewMockTransport()
	base.RegisterResponder(http.MethodPost, "https://accounts.zoho.com/oauth/v2/token", func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(http.StatusTemporaryRedirect, "")
		resp.Header.Set("Location", "https://evil.example/oauth/v2/token")
		return resp, nil
	})
	base.RegisterNoResponder(httpmock.NewStringResponder(http.StatusOK, `{"access_token":"1000.evil.token"}`))
	cfg := w.config("us", base)
	_, err := cfg.Exchange(ctx, w.code("us"))
	w.err("Exchange redirected", err)
	_, err = cfg.Refresh(ctx, &zohoauth.Token{RefreshToken: "1000.redirected.refresh"})
	w.secret("1000.redirected.refresh", "refresh token")
	w.err("Refresh redirected", err)
	if err == nil {
		w.t.Error("a refresh answered with a redirect succeeded")
	}
}

// flowEveryType prints a value of every exported type, holding secrets
// where it can, alone and inside other values.
func flowEveryType(w *leakWatch, srv *zohotest.Server) {
	ctx := context.Background()
	cfg := w.config("eu", nil)
	tok := w.exchange(cfg, "eu")
	mem := &zohoauth.MemoryStore{}
	w.err("Save", mem.Save(ctx, tok))
	file := zohoauth.NewFileStore(filepath.Join(w.t.TempDir(), "token.json"))
	w.err("Save", file.Save(ctx, tok))
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok), zohoauth.WithStore(file))
	defer src.Close()
	tr := &zohoauth.Transport{Source: src, Base: srv.Transport(), AllowedHosts: []string{"proxy.example"}}
	_, err := cfg.Refresh(ctx, &zohoauth.Token{RefreshToken: "1000.unknown.refresh0token"})
	var ze *zohoauth.Error
	errors.As(err, &ze)
	values := []any{
		*cfg, cfg, *tok, tok, zohoauth.EU, zohoauth.ClassReauth, ze, *ze, mem, file, src, tr, *tr,
		zohoauth.RetryPolicy{}, zohoauth.WithToken(tok), zohoauth.WithStore(file), zohoauth.PromptConsent(),
		zohoauth.TokenSource(src), zohoauth.Store(mem), zohoauth.Rejecter(src),
		struct {
			T   zohoauth.Token
			C   zohoauth.Config
			Src *zohoauth.Source
		}{*tok, *cfg, src},
		[]*zohoauth.Token{tok}, map[string]zohoauth.Token{"t": *tok},
	}
	for _, v := range values {
		w.value(fmt.Sprintf("%T", v), v)
	}
	w.logger(false).Info("values", "tok", tok, "token", *tok, "cfg", cfg, "src", src, "store", file, "err", err)
	w.logger(true).Info("values", "tok", tok, "token", *tok, "cfg", *cfg, "src", src, "store", mem, "err", ze)
}

// check asserts that no output holds a secret and that secrets and tokens
// went only where they belong.
func (w *leakWatch) check() {
	t := w.t
	for _, h := range w.srv.Stats().AuthHeaders {
		if _, tok, ok := strings.Cut(h, " "); ok {
			w.secret(tok, "access token")
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.panics != 1 {
		t.Errorf("%d flows panicked, want only the misuse one", w.panics)
		for _, o := range w.outputs {
			if strings.HasPrefix(o.what, "panic") {
				t.Log(o.what, o.text)
			}
		}
	}
	kinds := map[string]int{}
	for _, what := range w.secrets {
		kinds[what]++
	}
	for _, o := range w.outputs {
		for s, what := range w.secrets {
			if leaked(o.text, s) {
				t.Errorf("%s shows a %s: %.400s", o.what, what, o.text)
			}
		}
	}
	var bad []string
	for _, r := range w.requests {
		u, _ := url.Parse(r.url)
		accounts := u.Scheme == "https" && (u.Host == "accounts.zoho.com" || u.Host == "accounts.zoho.eu")
		api := u.Scheme == "https" && (strings.HasSuffix(u.Host, ".zohoapis.com") || strings.HasSuffix(u.Host, ".zohoapis.eu"))
		auth := r.header.Get("Authorization")
		// net/http itself sends Basic auth for a URL's user info
		// (https://www.zohoapis.com@evil.example): not a token.
		if auth != "" && !api && !strings.HasPrefix(auth, "Basic ") {
			bad = append(bad, fmt.Sprintf("Authorization sent to %s: %s", r.url, auth))
		}
		_, sent, _ := strings.Cut(auth, " ")
		for s, what := range w.secrets {
			inURL, inBody, inHeader := strings.Contains(r.url, s), strings.Contains(r.body, s), headerHolds(r.header, s)
			switch {
			case what == "access token" && inHeader && sent == s:
			case what == "access token" && (inURL || inBody || inHeader):
				bad = append(bad, fmt.Sprintf("an access token sent to %s outside the Authorization header", r.url))
			case inURL:
				bad = append(bad, fmt.Sprintf("a %s in the URL %s", what, u.Host+u.Path))
			case (inBody || inHeader) && !accounts:
				bad = append(bad, fmt.Sprintf("a %s sent to %s", what, u.Host))
			case inHeader:
				bad = append(bad, fmt.Sprintf("a %s in a header to %s", what, u.Host))
			}
		}
	}
	sort.Strings(bad)
	for i, b := range bad {
		if i == 0 || b != bad[i-1] {
			t.Error(b)
		}
	}
	t.Logf("%d flows; %d outputs and %d requests checked against %d secrets (%v)",
		w.flows, len(w.outputs), len(w.requests), len(w.secrets), kinds)
}

func headerHolds(h http.Header, s string) bool {
	for _, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}

// leaked reports whether out holds s or any leakWindow bytes of it.
func leaked(out, s string) bool {
	if len(s) <= leakWindow {
		return strings.Contains(out, s)
	}
	for i := 0; i+leakWindow <= len(s); i++ {
		if strings.Contains(out, s[i:i+leakWindow]) {
			return true
		}
	}
	return false
}
