package zohoauth_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// productAPI stands in for one product's API in front of a zohotest token
// endpoint: it accepts the access tokens it has been told are live and
// answers anything else with dead; a request it was told lacks the scope
// gets scope.
type productAPI struct {
	mu     sync.Mutex
	live   map[string]bool
	dead   string // body of a 401 for a dead token
	scope  string // when set, every request gets this 401
	calls  atomic.Int32
	bodies []string
}

func (a *productAPI) RoundTrip(r *http.Request) (*http.Response, error) {
	a.calls.Add(1)
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ")
	a.mu.Lock()
	a.bodies = append(a.bodies, string(body))
	live := a.live[tok]
	a.mu.Unlock()
	answer := func(status int, s string) (*http.Response, error) {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(s)), Request: r}, nil
	}
	switch {
	case !live:
		return answer(401, a.dead)
	case a.scope != "":
		return answer(401, a.scope)
	}
	return answer(200, `{"ok":true}`)
}

// productRig is a Source minting at a zohotest token endpoint, and a client
// whose API requests go to api.
type productRig struct {
	srv    *zohotest.Server
	api    *productAPI
	src    *zohoauth.Source
	client *http.Client
}

func newProductRig(t *testing.T, api *productAPI) *productRig {
	t.Helper()
	srv := zohotest.New(zohotest.Options{})
	t.Cleanup(srv.Close)
	access, refresh := srv.IssueToken("eu")
	api.live = map[string]bool{access: true}
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret", AccountsURL: zohoauth.EU.AccountsURL,
		HTTPClient: &http.Client{Transport: srv.Transport()}}
	tok := &zohoauth.Token{AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.EU.APIDomain,
		AccountsServer: zohoauth.EU.AccountsURL, Expiry: time.Now().Add(time.Hour)}
	rig := &productRig{srv: srv, api: api}
	rig.src = zohoauth.NewSource(cfg, zohoauth.WithToken(tok), zohoauth.WithOnRefresh(func(_ context.Context, tok *zohoauth.Token) error {
		api.mu.Lock()
		api.live[tok.AccessToken] = true
		api.mu.Unlock()
		return nil
	}))
	t.Cleanup(func() { rig.src.Close() })
	rig.client = &http.Client{Transport: &zohoauth.Transport{Source: rig.src, Base: api}}
	return rig
}

// kill makes the API refuse every token it knows so far.
func (r *productRig) kill() {
	r.api.mu.Lock()
	r.api.live = map[string]bool{}
	r.api.mu.Unlock()
}

func (r *productRig) refreshes() int { return r.srv.Stats().TokenCalls["refresh_token"] }

// The 401 answers of each product, as ZOHO.md quotes them.
var productAnswers = []struct {
	product, url, dead, scope string
}{
	{"CRM", "https://www.zohoapis.eu/crm/v8/Leads",
		`{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`,
		`{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`},
	{"Desk", "https://desk.zoho.eu/api/v1/tickets",
		`{"errorCode":"INVALID_OAUTH","message":"The OAuth Token you provided is invalid."}`,
		`{"errorCode":"SCOPE_MISMATCH","message":"You do not have sufficient scope"}`},
	{"Mail", "https://mail.zoho.eu/api/accounts",
		`{"data":{"errorCode":"INVALID_OAUTHTOKEN"},"status":{"code":401,"description":"Invalid Access"}}`, ""},
	{"Projects v3", "https://projectsapi.zoho.eu/api/v3/portals",
		`{"error":{"title":"INVALID_OAUTHTOKEN","details":"x"}}`, `{"error":{"code":6403,"message":"Invalid OAuth scope."}}`},
	{"Projects restapi", "https://projectsapi.zoho.eu/restapi/portals/",
		`{"error":{"code":6401,"message":"Invalid OAuth access token."}}`, `{"error":{"code":6403,"message":"Invalid OAuth scope."}}`},
	{"Creator", "https://www.zohoapis.eu/creator/v2.1/data/app/report",
		`{"code":1030,"description":"Authorization Failure. The access token is either invalid or has expired."}`, ""},
	{"Analytics", "https://analyticsapi.zoho.eu/restapi/v2/workspaces",
		`{"status":"failure","data":{"errorCode":8535,"errorMessage":"Invalid oauthtoken"}}`, ""},
	{"WorkDrive", "https://www.zohoapis.eu/workdrive/api/v1/files/x", "",
		`{"errors":[{"id":"F7007","title":"Invalid OAuth scope."}]}`},
}

func TestEveryProductRecoversADeadTokenOnce(t *testing.T) {
	for _, pa := range productAnswers {
		if pa.dead == "" {
			continue
		}
		t.Run(pa.product, func(t *testing.T) {
			rig := newProductRig(t, &productAPI{dead: pa.dead})
			rig.kill()
			const payload = `{"subject":"Zöhö","n":1}`
			resp, err := rig.client.Post(pa.url, "application/json", strings.NewReader(payload))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d %s, want 200 after one refresh", resp.StatusCode, body)
			}
			if n := rig.refreshes(); n != 1 {
				t.Errorf("refreshes = %d, want 1", n)
			}
			if n := rig.api.calls.Load(); n != 2 {
				t.Errorf("API calls = %d, want 2 (one replay)", n)
			}
			if got := rig.api.bodies; len(got) != 2 || got[0] != payload || got[1] != payload {
				t.Errorf("bodies %q, want the payload twice", got)
			}
		})
	}
}

func TestScopeErrorsAndUnknownAnswersComeBackUntouched(t *testing.T) {
	type answer struct{ name, url, body string }
	var answers []answer
	for _, pa := range productAnswers {
		if pa.scope != "" {
			answers = append(answers, answer{pa.product + " scope", pa.url, pa.scope})
		}
	}
	answers = append(answers,
		// Another product's dead-token answer on this product's host.
		answer{"Desk with CRM's code", "https://desk.zoho.eu/api/v1/tickets", `{"code":"INVALID_TOKEN"}`},
		answer{"CRM with Desk's code", "https://www.zohoapis.eu/crm/v8/Leads", `{"errorCode":"INVALID_OAUTH"}`},
		// Desk's UNAUTHORIZED means no Authorization header.
		answer{"Desk UNAUTHORIZED", "https://desk.zoho.eu/api/v1/tickets", `{"errorCode":"UNAUTHORIZED"}`},
		// Shapes that are not what the table expects.
		answer{"code is an object", "https://www.zohoapis.eu/crm/v8/Leads", `{"code":{"INVALID_TOKEN":1}}`},
		answer{"data is a string", "https://mail.zoho.eu/api/accounts", `{"data":"INVALID_OAUTHTOKEN"}`},
		answer{"data is a list", "https://mail.zoho.eu/api/accounts", `{"data":[{"errorCode":"INVALID_OAUTHTOKEN"}]}`},
		answer{"errors is an object", "https://www.zohoapis.eu/workdrive/api/v1/x", `{"errors":{"id":"F7007"}}`},
		answer{"error is a string", "https://projectsapi.zoho.eu/api/v3/portals", `{"error":"INVALID_OAUTHTOKEN"}`},
		answer{"number where a word goes", "https://www.zohoapis.eu/crm/v8/Leads", `{"code":401}`},
		answer{"Kelvin sign", "https://www.zohoapis.eu/crm/v8/Leads", "{\"code\":\"INVALID_TO\u212aEN\"}"},
		answer{"not JSON", "https://www.zohoapis.eu/crm/v8/Leads", `<html>401</html>`},
		answer{"empty", "https://www.zohoapis.eu/crm/v8/Leads", ``},
		answer{"unknown product answer", "https://sign.zoho.eu/api/v1/requests", `{"code":9041,"message":"x"}`},
	)
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			rig := newProductRig(t, &productAPI{dead: a.body})
			rig.kill()
			resp, err := rig.client.Get(a.url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 || string(body) != a.body {
				t.Errorf("got %d %q, want the 401 byte for byte", resp.StatusCode, body)
			}
			if n := rig.refreshes(); n != 0 {
				t.Errorf("refreshes = %d, want 0", n)
			}
			if n := rig.api.calls.Load(); n != 1 {
				t.Errorf("API calls = %d, want 1", n)
			}
		})
	}
}

const books57 = `{"code":57,"message":"You are not authorized to perform this operation"}`

// Books answers 57 for a dead token and for a missing scope alike: a dead
// token is recovered, a scope problem costs at most one token call.
func TestBooksAmbiguousAnswer(t *testing.T) {
	const url = "https://www.zohoapis.eu/books/v3/invoices?organization_id=10234695"
	t.Run("dead token recovered", func(t *testing.T) {
		rig := newProductRig(t, &productAPI{dead: books57})
		rig.kill()
		resp, err := rig.client.Post(url, "application/json", strings.NewReader(`{"customer_id":"1"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || rig.refreshes() != 1 || rig.api.calls.Load() != 2 {
			t.Errorf("status %d, %d refreshes, %d API calls; want 200, 1, 2", resp.StatusCode, rig.refreshes(), rig.api.calls.Load())
		}
	})
	t.Run("scope problem, 50 sequential requests", func(t *testing.T) {
		rig := newProductRig(t, &productAPI{dead: books57, scope: books57})
		for i := range 50 {
			resp, err := rig.client.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 || string(body) != books57 {
				t.Fatalf("request %d: %d %q, want the 401 untouched", i, resp.StatusCode, body)
			}
		}
		if n := rig.refreshes(); n > 1 {
			t.Errorf("refreshes = %d, want at most 1", n)
		}
		if n := rig.api.calls.Load(); n > 51 {
			t.Errorf("API calls = %d, want at most 51", n)
		}
	})
	t.Run("scope problem, 200 concurrent requests", func(t *testing.T) {
		rig := newProductRig(t, &productAPI{dead: books57, scope: books57})
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				resp, err := rig.client.Get(url)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			})
		}
		wg.Wait()
		if n := rig.refreshes(); n > 1 {
			t.Errorf("refreshes = %d, want at most 1", n)
		}
	})
}

// trickle is a response body that sends one byte a second.
type trickle struct {
	data   string
	closed atomic.Bool
}

func (b *trickle) Read(p []byte) (int, error) {
	if b.data == "" {
		return 0, io.EOF
	}
	if b.closed.Load() {
		return 0, io.ErrClosedPipe
	}
	time.Sleep(time.Second)
	p[0], b.data = b.data[0], b.data[1:]
	return 1, nil
}

func (b *trickle) Close() error { b.closed.Store(true); return nil }

// A 401 whose body trickles is handed back once the peek's time is up,
// without a refresh, and the caller still reads all of it.
func TestTricklingUnauthorizedBodyIsHandedBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`
		tokens := 0
		src := sourceFunc(func(context.Context) (*zohoauth.Token, error) { tokens++; return tokenOf("eu"), nil })
		tr := &zohoauth.Transport{Source: src, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 401, Body: &trickle{data: body}, Request: r}, nil
		})}
		start := time.Now()
		req, _ := http.NewRequest("GET", "https://www.zohoapis.eu/crm/v8/Leads", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("RoundTrip took %v; the peek must give up within its bound", took)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || string(got) != body {
			t.Errorf("got %d %q, want the 401 with its whole body", resp.StatusCode, got)
		}
		if tokens != 1 {
			t.Errorf("token asked %d times, want 1 (no refresh)", tokens)
		}
	})
}

type sourceFunc func(context.Context) (*zohoauth.Token, error)

func (f sourceFunc) Token(ctx context.Context) (*zohoauth.Token, error) { return f(ctx) }

// A product's API on the fake, with what its requests need.
type fakeProduct struct {
	name, scope, denied string // the scope its calls need; one that is not enough
	get                 string // path under the product's base for a GET
	post, body          string // a POST's path and body, "" if the fake has none
	marker              string // a part of the body the POST's answer repeats
	scopeCode           string // a part of the product's answer to a missing scope
	header              http.Header
}

var fakeProducts = []fakeProduct{
	{name: zohotest.Desk, scope: "Desk.tickets.ALL", denied: "Desk.contacts.READ", get: "/tickets",
		post: "/tickets", body: `{"subject":"Zöhö printer on fire","departmentId":"1"}`, marker: "Zöhö printer on fire",
		scopeCode: "SCOPE_MISMATCH", header: http.Header{"orgId": {"10234695"}}},
	{name: zohotest.Books, scope: "ZohoBooks.invoices.ALL", denied: "ZohoBooks.contacts.READ", get: "/invoices?organization_id=10234695",
		post: "/invoices?organization_id=10234695", body: `{"customer_id":"982000000567001","line_items":[{"rate":12.5}]}`,
		marker: "982000000567001", scopeCode: `"code":57`},
	{name: zohotest.Mail, scope: "ZohoMail.accounts.READ", denied: "ZohoMail.messages.READ", get: "/accounts",
		scopeCode: "INVALID_OAUTHSCOPE"},
	{name: zohotest.Projects, scope: "ZohoProjects.portals.READ", denied: "ZohoProjects.tasks.READ", get: "/portals/",
		scopeCode: "6403"},
	{name: zohotest.CRM, scope: "ZohoCRM.modules.ALL", denied: "ZohoCRM.settings.READ", get: "/Leads?fields=Last_Name",
		post: "/Leads", body: `{"data":[{"Last_Name":"Zöhö"}]}`, marker: `"code":"SUCCESS"`, scopeCode: "OAUTH_SCOPE_MISMATCH"},
}

// onFake is a Source and client on a zohotest server, for a token of loc
// with scope.
func onFake(t *testing.T, loc, scope string) (*zohotest.Server, *zohoauth.Source, *http.Client, *zohoauth.Token) {
	t.Helper()
	srv := zohotest.New(zohotest.Options{})
	t.Cleanup(srv.Close)
	access, refresh := srv.IssueToken(loc, scope)
	dc, _ := zohoauth.LookupDataCenter(loc)
	tok := &zohoauth.Token{AccessToken: access, RefreshToken: refresh, APIDomain: dc.APIDomain,
		AccountsServer: dc.AccountsURL, Expiry: time.Now().Add(time.Hour)}
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret", AccountsURL: dc.AccountsURL,
		HTTPClient: &http.Client{Transport: srv.Transport()}}
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
	t.Cleanup(func() { src.Close() })
	return srv, src, &http.Client{Transport: &zohoauth.Transport{Source: src, Base: srv.Transport()}}, tok
}

func (p fakeProduct) request(t *testing.T, srv *zohotest.Server, loc, method string) *http.Request {
	t.Helper()
	path, body := p.get, ""
	if method == http.MethodPost {
		path, body = p.post, p.body
	}
	req, err := http.NewRequest(method, srv.ProductURL(loc, p.name)+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body, req.GetBody = http.NoBody, nil
	}
	for k, v := range p.header {
		req.Header[k] = v
	}
	return req
}

func do(t *testing.T, client *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Against the fake, in each of its data centers: the token reaches every
// product, a killed token is recovered with one refresh and one replay with
// the body intact, and a scope error comes back untouched.
func TestProductsAgainstZohotest(t *testing.T) {
	for _, loc := range []string{"us", "eu", "ae"} {
		for _, p := range fakeProducts {
			t.Run(loc+"/"+p.name, func(t *testing.T) {
				srv, _, client, tok := onFake(t, loc, p.scope)
				method := http.MethodGet
				if p.post != "" {
					method = http.MethodPost
				}
				if status, body := do(t, client, p.request(t, srv, loc, method)); status/100 != 2 {
					t.Fatalf("%s with a live token: %d %s", method, status, body)
				}
				srv.RevokeAccessToken(tok.AccessToken)
				before := srv.Stats()
				status, body := do(t, client, p.request(t, srv, loc, method))
				after := srv.Stats()
				if status/100 != 2 {
					t.Fatalf("%s after the token was killed: %d %s; want it recovered", method, status, body)
				}
				if n := after.TokenCalls["refresh_token"] - before.TokenCalls["refresh_token"]; n != 1 {
					t.Errorf("refreshes = %d, want 1", n)
				}
				if n := after.APICalls - before.APICalls; n != 2 {
					t.Errorf("API calls = %d, want 2 (one replay)", n)
				}
				if method == http.MethodPost && !strings.Contains(body, p.marker) {
					t.Errorf("the replayed POST did not carry its body: %s", body)
				}
			})
			t.Run(loc+"/"+p.name+"/scope", func(t *testing.T) {
				srv, _, client, tok := onFake(t, loc, p.denied)
				direct := p.request(t, srv, loc, http.MethodGet)
				direct.Header.Set("Authorization", "Zoho-oauthtoken "+tok.AccessToken)
				wantStatus, wantBody := do(t, &http.Client{Transport: srv.Transport()}, direct)
				if wantStatus < 400 || !strings.Contains(wantBody, p.scopeCode) {
					t.Fatalf("the fake answers the missing scope with %d %s", wantStatus, wantBody)
				}
				status, body := do(t, client, p.request(t, srv, loc, http.MethodGet))
				if status != wantStatus || body != wantBody {
					t.Errorf("scope problem: %d %s; want the product's answer untouched: %d %s", status, body, wantStatus, wantBody)
				}
				if n := srv.Stats().TokenCalls["refresh_token"]; n > 1 || (p.name != zohotest.Books && n != 0) {
					t.Errorf("refreshes = %d for a scope problem; want none (at most one for Books' ambiguous 57)", n)
				}
			})
		}
	}
}

// Books answers a missing scope like a dead token (57): 50 requests cost at
// most one token call, and each gets the 401 untouched.
func TestBooksScopeProblemAgainstZohotest(t *testing.T) {
	srv, _, client, _ := onFake(t, "eu", "ZohoBooks.contacts.READ")
	books := fakeProducts[1]
	for i := range 50 {
		status, body := do(t, client, books.request(t, srv, "eu", http.MethodGet))
		if status != 401 || !strings.Contains(body, `"code":57`) {
			t.Fatalf("request %d: %d %s; want Books' 401", i, status, body)
		}
	}
	if n := srv.Stats().TokenCalls["refresh_token"]; n > 1 {
		t.Errorf("%d token calls for 50 requests with a scope problem, want at most 1", n)
	}
}
