package zohotest_test

import (
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth/zohotest"
)

func TestExchangeCode(t *testing.T) {
	for _, loc := range []string{"us", "eu"} {
		t.Run(loc, func(t *testing.T) {
			s, c := newServer(t, zohotest.Options{})
			dc := s.DC(loc)
			code := s.NewGrantCode(loc, "ZohoCRM.modules.ALL", "ZohoCRM.settings.READ")
			r := postToken(t, c, dc.AccountsURL, form("grant_type", "authorization_code", "code", code,
				"redirect_uri", "https://app.example/callback"))
			wantToken(t, r)
			if !tokenShape.MatchString(r.str("refresh_token")) {
				t.Errorf("refresh_token %q: not Zoho's shape", r.str("refresh_token"))
			}
			if got := r.str("api_domain"); got != dc.APIDomain {
				t.Errorf("api_domain = %q, want %q", got, dc.APIDomain)
			}
			if r.str("token_type") != "Bearer" || r.JSON["expires_in"] != 3600.0 || r.has("expires_in_sec") {
				t.Errorf("token_type/expires_in wrong: %s", r.Raw)
			}
			if got := r.str("scope"); got != "ZohoCRM.modules.ALL ZohoCRM.settings.READ" {
				t.Errorf("scope = %q, want space-separated scopes", got)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

func TestRealHosts(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	defer s.Close()
	want := map[string]zohotest.DC{
		"us": {"us", "https://accounts.zoho.com", "https://www.zohoapis.com"},
		"eu": {"eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"},
		"EU": {"eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"},
	}
	for loc, w := range want {
		if got := s.DC(loc); got != w {
			t.Errorf("DC(%q) = %+v, want %+v", loc, got, w)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("DC(\"in\") did not panic")
		}
	}()
	s.DC("in") // not modelled
}

func TestTokenParamsInQueryString(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	v := form("grant_type", "authorization_code", "code", s.NewGrantCode("us"))
	req, _ := http.NewRequest(http.MethodGet, "https://accounts.zoho.com/oauth/v2/token?"+v.Encode(), nil)
	if r := do(t, c, req); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d %s, want 405", r.Status, r.Raw)
	}
	req, _ = http.NewRequest(http.MethodPost, "https://accounts.zoho.com/oauth/v2/token?"+v.Encode(), nil)
	wantToken(t, do(t, c, req))
}

func TestCodeSingleUse(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	code := s.NewGrantCode("us")
	wantToken(t, exchange(t, c, s.DC("us"), code))
	wantTokenError(t, exchange(t, c, s.DC("us"), code), "invalid_code")
}

func TestCodeExpires(t *testing.T) {
	for _, lifetime := range []time.Duration{0, 10 * time.Minute} {
		synctest.Test(t, func(t *testing.T) {
			s, c := newServer(t, zohotest.Options{CodeLifetime: lifetime})
			if lifetime == 0 {
				lifetime = 3 * time.Minute // the default
			}
			early, late := s.NewGrantCode("us"), s.NewGrantCode("us")
			time.Sleep(lifetime - time.Second)
			wantToken(t, exchange(t, c, s.DC("us"), early))
			time.Sleep(time.Second)
			wantTokenError(t, exchange(t, c, s.DC("us"), late), "invalid_code")
		})
	}
}

func TestCodeFromOtherDC(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	code := s.NewGrantCode("eu")
	wantTokenError(t, exchange(t, c, s.DC("us"), code), "invalid_code")
	wantToken(t, exchange(t, c, s.DC("eu"), code)) // not used up by the wrong DC
}

func TestRefresh(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	first, rt := s.IssueToken("eu", "ZohoCRM.modules.leads.ALL")
	r := refresh(t, c, s.DC("eu"), rt)
	wantToken(t, r)
	if r.has("refresh_token") || r.str("api_domain") != "https://www.zohoapis.eu" {
		t.Errorf("refresh answer: %s, want api_domain and no refresh_token", r.Raw)
	}
	if r.str("scope") != "ZohoCRM.modules.leads.ALL" || r.str("token_type") != "Bearer" || r.JSON["expires_in"] != 3600.0 {
		t.Errorf("refresh answer: %s", r.Raw)
	}
	for _, tok := range []string{first, r.str("access_token")} {
		if got := api(t, c, "GET", "https://www.zohoapis.eu/crm/v8/Leads?fields=Last_Name", tok, ""); got.Status != http.StatusNoContent {
			t.Errorf("API with a live token: %d %s", got.Status, got.Raw)
		}
	}
	if first == r.str("access_token") {
		t.Error("refresh returned the same access token")
	}
}

func TestTokenErrors(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	_, usRefresh := s.IssueToken("us")
	_, revoked := s.IssueToken("us")
	s.RevokeRefreshToken(revoked)
	code := s.NewGrantCode("us")
	tests := []struct {
		name string
		loc  string
		form map[string]string
		want string
	}{
		{"wrong client id, code", "us", map[string]string{"client_id": "other", "grant_type": "authorization_code", "code": code}, "invalid_client"},
		{"wrong client id, refresh", "us", map[string]string{"client_id": "other", "grant_type": "refresh_token", "refresh_token": usRefresh}, "invalid_client"},
		{"no client id", "us", map[string]string{"client_id": "", "grant_type": "refresh_token", "refresh_token": usRefresh}, "invalid_client"},
		{"wrong secret", "us", map[string]string{"client_secret": "nope", "grant_type": "refresh_token", "refresh_token": usRefresh}, "invalid_client_secret"},
		{"refresh token of another DC", "eu", map[string]string{"grant_type": "refresh_token", "refresh_token": usRefresh}, "invalid_client"},
		{"unknown refresh token", "us", map[string]string{"grant_type": "refresh_token", "refresh_token": "1000.abc.def"}, "invalid_code"},
		{"revoked refresh token", "us", map[string]string{"grant_type": "refresh_token", "refresh_token": revoked}, "invalid_code"},
		{"missing code", "us", map[string]string{"grant_type": "authorization_code"}, "invalid_code"},
		{"unknown grant type", "us", map[string]string{"grant_type": "password"}, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := form()
			for k, val := range tt.form {
				v.Set(k, val)
			}
			wantTokenError(t, postToken(t, c, s.DC(tt.loc).AccountsURL, v), tt.want)
		})
	}
	// None of the refused calls used up the code or the refresh token.
	wantToken(t, exchange(t, c, s.DC("us"), code))
	wantToken(t, refresh(t, c, s.DC("us"), usRefresh))
}

func TestClientCredentials(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	dc := s.DC("us")
	r := postToken(t, c, dc.AccountsURL, form("grant_type", "client_credentials",
		"scope", "ZohoCRM.modules.leads.READ,ZohoCRM.settings.READ", "soid", "ZohoCRM.600434"))
	wantToken(t, r)
	if r.has("refresh_token") {
		t.Errorf("client credentials answer has a refresh token: %s", r.Raw)
	}
	if r.str("api_domain") != dc.APIDomain || r.str("scope") != "ZohoCRM.modules.leads.READ ZohoCRM.settings.READ" {
		t.Errorf("client credentials answer: %s", r.Raw)
	}
	tok := r.str("access_token")
	if got := api(t, c, "GET", dc.APIDomain+"/crm/v8/Leads?fields=Last_Name", tok, ""); got.Status != http.StatusNoContent {
		t.Errorf("GET Leads: %d %s", got.Status, got.Raw)
	}
	if got := api(t, c, "GET", dc.APIDomain+"/crm/v8/Contacts?fields=Last_Name", tok, ""); got.str("code") != "OAUTH_SCOPE_MISMATCH" {
		t.Errorf("GET Contacts: %d %s", got.Status, got.Raw)
	}
	wantTokenError(t, postToken(t, c, dc.AccountsURL, form("grant_type", "client_credentials", "soid", "ZohoCRM.1")), "invalid_scope")
	wantTokenError(t, postToken(t, c, dc.AccountsURL, form("grant_type", "client_credentials", "scope", "ZohoCRM.modules.ALL")), "missing_org_info")
	if got := s.Stats().TokenCalls["client_credentials"]; got != 3 {
		t.Errorf("TokenCalls[client_credentials] = %d, want 3", got)
	}
}

const throttleBody = `{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`

func TestThrottleSlidingWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newServer(t, zohotest.Options{MaxLiveTokens: -1})
		us := s.DC("us")
		_, rt := s.IssueToken("us") // mint 1 at 0m
		for i := 1; i < 10; i++ {   // mints 2..10 at 1m..9m
			time.Sleep(time.Minute)
			wantToken(t, refresh(t, c, us, rt))
		}
		throttledAt := func(when string) {
			t.Helper()
			r := refresh(t, c, us, rt)
			if r.Status != http.StatusOK || r.Raw != throttleBody {
				t.Errorf("at %s: got %d %s, want the throttle answer", when, r.Status, r.Raw)
			}
		}
		throttledAt("9m")
		_, other := s.IssueToken("us")
		wantToken(t, refresh(t, c, us, other)) // the limit is per refresh token

		time.Sleep(time.Minute - time.Nanosecond)
		throttledAt("10m-1ns")
		time.Sleep(time.Nanosecond) // the 0m mint leaves the window
		wantToken(t, refresh(t, c, us, rt))
		time.Sleep(30 * time.Second)
		throttledAt("10m30s")
		time.Sleep(30 * time.Second) // the 1m mint leaves
		wantToken(t, refresh(t, c, us, rt))

		if got := s.Stats().ThrottleHits; got != 3 {
			t.Errorf("ThrottleHits = %d, want 3", got)
		}
	})
}

func TestThrottleOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  zohotest.Options
		calls int
		hits  int
	}{
		{"limit 3 in 1m", zohotest.Options{ThrottleLimit: 3, ThrottleWindow: time.Minute}, 5, 3},
		{"disabled", zohotest.Options{ThrottleLimit: -1}, 40, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newServer(t, tt.opts)
			_, rt := s.IssueToken("us")
			for range tt.calls {
				refresh(t, c, s.DC("us"), rt)
			}
			if got := s.Stats().ThrottleHits; got != tt.hits {
				t.Errorf("ThrottleHits = %d, want %d", got, tt.hits)
			}
		})
	}
}

func TestMaxLiveTokensEvictsOldest(t *testing.T) {
	s, c := newServer(t, zohotest.Options{ThrottleLimit: -1})
	us := s.DC("us")
	first, rt := s.IssueToken("us")
	tokens := []string{first}
	for range 14 {
		r := refresh(t, c, us, rt)
		wantToken(t, r)
		tokens = append(tokens, r.str("access_token"))
	}
	for i, tok := range tokens {
		if r := api(t, c, "GET", us.APIDomain+"/crm/v8/Leads?fields=Last_Name", tok, ""); r.Status != http.StatusNoContent {
			t.Fatalf("token %d of 15: %d %s", i, r.Status, r.Raw)
		}
	}
	wantToken(t, refresh(t, c, us, rt)) // the 16th
	if r := api(t, c, "GET", us.APIDomain+"/crm/v8/Leads?fields=Last_Name", tokens[0], ""); r.Status != http.StatusUnauthorized || r.str("code") != "INVALID_TOKEN" {
		t.Errorf("oldest token after the 16th: %d %s, want 401 INVALID_TOKEN", r.Status, r.Raw)
	}
	if r := api(t, c, "GET", us.APIDomain+"/crm/v8/Leads?fields=Last_Name", tokens[1], ""); r.Status != http.StatusNoContent {
		t.Errorf("second oldest token after the 16th: %d %s", r.Status, r.Raw)
	}
	if got := s.Stats().LiveTokens; got != 15 {
		t.Errorf("LiveTokens = %d, want 15", got)
	}
}

func TestRevoke(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	us := s.DC("us")
	access, rt := s.IssueToken("us")
	r2 := refresh(t, c, us, rt)
	revoke := func(loc, token string) reply {
		req, _ := http.NewRequest(http.MethodPost, s.DC(loc).AccountsURL+"/oauth/v2/token/revoke?token="+token, nil)
		return do(t, c, req)
	}
	if r := revoke("eu", rt); r.Status != http.StatusBadRequest {
		t.Errorf("revoke at the wrong DC: %d %s, want 400", r.Status, r.Raw)
	}
	if r := revoke("us", rt); r.Status != http.StatusOK || r.Raw != `{"status":"success"}` {
		t.Errorf("revoke: %d %s", r.Status, r.Raw)
	}
	for _, tok := range []string{access, r2.str("access_token")} {
		if r := api(t, c, "GET", us.APIDomain+"/crm/v8/Leads?fields=Last_Name", tok, ""); r.Status != http.StatusUnauthorized {
			t.Errorf("access token of a revoked refresh token: %d", r.Status)
		}
	}
	wantTokenError(t, refresh(t, c, us, rt), "invalid_code")
	if r := revoke("us", rt); r.Status != http.StatusBadRequest {
		t.Errorf("second revoke: %d, want 400", r.Status)
	}
	if r := revoke("us", "1000.unknown.token"); r.Status != http.StatusBadRequest {
		t.Errorf("unknown token: %d, want 400", r.Status)
	}

	// An access token can be revoked alone.
	access, rt = s.IssueToken("us")
	if r := revoke("us", access); r.Status != http.StatusOK {
		t.Errorf("revoke access token: %d", r.Status)
	}
	if r := api(t, c, "GET", us.APIDomain+"/crm/v8/Leads?fields=Last_Name", access, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("revoked access token: %d", r.Status)
	}
	wantToken(t, refresh(t, c, us, rt))
	if got := s.Stats().TokenCalls["revoke"]; got != 5 {
		t.Errorf("TokenCalls[revoke] = %d, want 5", got)
	}
}

func TestLegacyExpiry(t *testing.T) {
	tests := []struct {
		opts          zohotest.Options
		secs, wantRaw float64
	}{
		{zohotest.Options{Legacy: true}, 3600, 3600000},
		{zohotest.Options{Legacy: true, AccessTokenLifetime: 30 * time.Minute}, 1800, 1800000},
	}
	for _, tt := range tests {
		s, c := newServer(t, tt.opts)
		r := exchange(t, c, s.DC("us"), s.NewGrantCode("us"))
		r2 := refresh(t, c, s.DC("us"), r.str("refresh_token"))
		for _, r := range []reply{r, r2} {
			if r.JSON["expires_in_sec"] != tt.secs || r.JSON["expires_in"] != tt.wantRaw {
				t.Errorf("legacy answer %s: want expires_in_sec %v, expires_in %v", r.Raw, tt.secs, tt.wantRaw)
			}
		}
	}
}

func TestTokenShape(t *testing.T) {
	s := zohotest.New(zohotest.Options{ThrottleLimit: -1, MaxLiveTokens: -1})
	defer s.Close()
	seen := map[string]bool{}
	for range 200 {
		a, r := s.IssueToken("us")
		for _, tok := range []string{a, r, s.NewGrantCode("eu")} {
			if !tokenShape.MatchString(tok) || seen[tok] {
				t.Fatalf("token %q: bad shape or repeated", tok)
			}
			seen[tok] = true
		}
	}
}

// The quirk a client must survive: a refresh answer without api_domain.
func TestOmitAPIDomainOnRefresh(t *testing.T) {
	s, c := newServer(t, zohotest.Options{OmitAPIDomainOnRefresh: true})
	r := exchange(t, c, s.DC("eu"), s.NewGrantCode("eu"))
	if r.str("api_domain") != "https://www.zohoapis.eu" {
		t.Errorf("exchange answer without api_domain: %s", r.Raw)
	}
	r = refresh(t, c, s.DC("eu"), r.str("refresh_token"))
	wantToken(t, r)
	if r.has("api_domain") || r.has("refresh_token") {
		t.Errorf("refresh answer: %s, want neither api_domain nor refresh_token", r.Raw)
	}
}

// Zoho counts in whole seconds: a lifetime under a second (or between two
// seconds) is rounded up, so the token lives as long as expires_in says
// and expires_in is never 0.
func TestSubSecondLifetime(t *testing.T) {
	for _, tt := range []struct {
		lifetime time.Duration
		secs     float64
	}{
		{time.Nanosecond, 1}, {300 * time.Millisecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2},
	} {
		synctest.Test(t, func(t *testing.T) {
			s, c := newServer(t, zohotest.Options{AccessTokenLifetime: tt.lifetime})
			r := exchange(t, c, s.DC("us"), s.NewGrantCode("us"))
			if r.JSON["expires_in"] != tt.secs {
				t.Errorf("lifetime %v: expires_in %v, want %v", tt.lifetime, r.JSON["expires_in"], tt.secs)
			}
			tok := r.str("access_token")
			life := time.Duration(tt.secs) * time.Second
			time.Sleep(life - time.Nanosecond)
			if got := api(t, c, "GET", "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name", tok, ""); got.Status != http.StatusNoContent {
				t.Errorf("lifetime %v: dead before expires_in: %d", tt.lifetime, got.Status)
			}
			time.Sleep(time.Nanosecond)
			if got := api(t, c, "GET", "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name", tok, ""); got.Status != http.StatusUnauthorized {
				t.Errorf("lifetime %v: alive after expires_in: %d", tt.lifetime, got.Status)
			}
		})
	}
}

// The AE data center stands beside US and EU, with its own hosts, codes
// and tokens.
func TestAEDataCenter(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	ae := s.DC("ae")
	if ae != (zohotest.DC{Location: "ae", AccountsURL: "https://accounts.zoho.ae", APIDomain: "https://www.zohoapis.ae"}) {
		t.Errorf("DC(ae) = %+v", ae)
	}
	r := exchange(t, c, ae, s.NewGrantCode("ae"))
	wantToken(t, r)
	if r.str("api_domain") != "https://www.zohoapis.ae" {
		t.Errorf("api_domain %q", r.str("api_domain"))
	}
	wantTokenError(t, refresh(t, c, s.DC("us"), r.str("refresh_token")), "invalid_client")
	wantTokenError(t, exchange(t, c, ae, s.NewGrantCode("eu")), "invalid_code")
	if got := api(t, c, "GET", "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name", r.str("access_token"), ""); got.Raw != invalidToken {
		t.Errorf("AE token at the US API: %d %s", got.Status, got.Raw)
	}
	if got := api(t, c, "GET", "https://sandbox.zohoapis.ae/crm/v8/Leads?fields=Last_Name", r.str("access_token"), ""); got.Status != http.StatusNoContent {
		t.Errorf("AE token at the AE sandbox: %d %s", got.Status, got.Raw)
	}
}
