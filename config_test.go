package zohoauth_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"github.com/jarcoal/httpmock"
)

const tokenURL = "https://accounts.zoho.com/oauth/v2/token"

func mockConfig(mt *httpmock.MockTransport) *zohoauth.Config {
	return &zohoauth.Config{ClientID: "client-1", ClientSecret: testClientSecret, HTTPClient: &http.Client{Transport: mt}}
}

func TestTokenEndpointResponses(t *testing.T) {
	prev := &zohoauth.Token{
		AccessToken: "1000.access-prev.secret", RefreshToken: testRefresh,
		APIDomain: "https://www.zohoapis.eu", Scope: "ZohoCRM.modules.ALL",
	}
	cases := []struct {
		name     string
		status   int
		body     string
		attempts int           // token endpoint requests expected
		life     time.Duration // expected lifetime on success
		apiDom   string        // expected api_domain on success
		class    error         // expected error class, nil for success
		unknown  bool          // error of no known class
	}{
		{name: "success", status: 200, body: `{"access_token":"1000.access-new.secret","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.com"},
		{name: "refresh without refresh_token or api_domain keeps both", status: 200, body: `{"access_token":"1000.access-new.secret","token_type":"Bearer","expires_in":3600}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "legacy expires_in_sec wins over milliseconds", status: 200, body: `{"access_token":"1000.access-new.secret","expires_in_sec":3600,"expires_in":3600000}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "milliseconds alone", status: 200, body: `{"access_token":"1000.access-new.secret","expires_in":1800000}`,
			attempts: 1, life: 30 * time.Minute, apiDom: "https://www.zohoapis.eu"},
		{name: "expires_in as a string", status: 200, body: `{"access_token":"1000.access-new.secret","expires_in":"600"}`,
			attempts: 1, life: 10 * time.Minute, apiDom: "https://www.zohoapis.eu"},
		{name: "missing expires_in means one hour", status: 200, body: `{"access_token":"1000.access-new.secret"}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "zero expires_in", status: 200, body: `{"access_token":"1000.access-new.secret","expires_in":0}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "one second is not believed", status: 200, body: `{"access_token":"1000.access-new.secret","expires_in":1}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "under the floor in expires_in_sec", status: 200, body: `{"access_token":"1000.access-new.secret","expires_in_sec":1.5,"expires_in":1500}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "the floor itself is believed", status: 200, body: `{"access_token":"1000.access-new.secret","expires_in":2}`,
			attempts: 1, life: 2 * time.Second, apiDom: "https://www.zohoapis.eu"},
		{name: "negative expires_in", status: 200, body: `{"access_token":"1000.access-new.secret","expires_in":-5}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "absurd expires_in", status: 200, body: `{"access_token":"1000.access-new.secret","expires_in":1e300}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "api_domain off Zoho's API hosts is not kept", status: 200, body: `{"access_token":"1000.access-new.secret","api_domain":"https://evil.example"}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "api_domain lookalike is not kept", status: 200, body: `{"access_token":"1000.access-new.secret","api_domain":"https://www.zohoap\u0130s.com"}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "api_domain with a path is not kept", status: 200, body: `{"access_token":"1000.access-new.secret","api_domain":"https://www.zohoapis.com/crm"}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "api_domain over http is not kept", status: 200, body: `{"access_token":"1000.access-new.secret","api_domain":"http://www.zohoapis.com"}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "api_domain with user info is not kept", status: 200, body: `{"access_token":"1000.access-new.secret","api_domain":"https://a@www.zohoapis.com"}`,
			attempts: 1, life: time.Hour, apiDom: "https://www.zohoapis.eu"},
		{name: "api_domain of a sandbox is kept", status: 200, body: `{"access_token":"1000.access-new.secret","api_domain":"https://sandbox.zohoapis.com"}`,
			attempts: 1, life: time.Hour, apiDom: "https://sandbox.zohoapis.com"},
		{name: "api_domain on loopback is kept (test servers)", status: 200, body: `{"access_token":"1000.access-new.secret","api_domain":"http://127.0.0.1:8080"}`,
			attempts: 1, life: time.Hour, apiDom: "http://127.0.0.1:8080"},
		{name: "invalid_code in 200", status: 200, body: `{"error":"invalid_code"}`, attempts: 1, class: zohoauth.ErrReauthRequired},
		{name: "invalid_client in 200", status: 200, body: `{"error":"invalid_client"}`, attempts: 1, class: zohoauth.ErrReauthRequired},
		{name: "invalid_client_secret in 200", status: 200, body: `{"error":"invalid_client_secret"}`, attempts: 1, class: zohoauth.ErrReauthRequired},
		{name: "Access Denied in 200", status: 200, body: `{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`,
			attempts: 1, class: zohoauth.ErrThrottled},
		{name: "Access Denied in 400", status: 400, body: `{"error":"Access Denied","error_description":"You have made too many requests continuously.","status":"failure"}`,
			attempts: 1, class: zohoauth.ErrThrottled},
		{name: "token creation throttle", status: 200, body: `{"error":"Access Denied","error_description":"Token creation throttle limit reached. Please reuse the valid tokens you currently have."}`,
			attempts: 1, class: zohoauth.ErrThrottled},
		{name: "localized unknown error", status: 200, body: `{"error":"访问被拒绝","status":"failure"}`, attempts: 1, unknown: true},
		{name: "error with access_token is still an error", status: 200, body: `{"error":"invalid_code","access_token":"1000.access-new.secret"}`, attempts: 1, class: zohoauth.ErrReauthRequired},
		{name: "no access_token", status: 200, body: `{"status":"failure"}`, attempts: 1, unknown: true},
		{name: "empty access_token", status: 200, body: `{"access_token":"","expires_in":3600}`, attempts: 1, unknown: true},
		{name: "empty 200", status: 200, body: ``, attempts: 1, class: zohoauth.ErrTransient},
		{name: "html 200", status: 200, body: `<html><body>Maintenance</body></html>`, attempts: 1, class: zohoauth.ErrTransient},
		{name: "truncated json", status: 200, body: `{"access_token":"1000.acc`, attempts: 1, class: zohoauth.ErrTransient},
		{name: "500 retried", status: 500, body: `oops`, attempts: 3, class: zohoauth.ErrTransient},
		{name: "502 retried", status: 502, body: `<html>bad gateway</html>`, attempts: 3, class: zohoauth.ErrTransient},
		{name: "503 retried", status: 503, body: ``, attempts: 3, class: zohoauth.ErrTransient},
		{name: "404 not retried", status: 404, body: `<html>not found</html>`, attempts: 1, unknown: true},
		{name: "oversized body", status: 200, body: `{"access_token":"` + strings.Repeat("a", 1<<20) + `"}`, attempts: 1, class: zohoauth.ErrTransient},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mt := httpmock.NewMockTransport()
				mt.RegisterResponder("POST", tokenURL, func(r *http.Request) (*http.Response, error) {
					return httpmock.NewStringResponse(c.status, c.body), nil
				})
				tok, err := mockConfig(mt).Refresh(bg(), prev)
				if n := mt.GetTotalCallCount(); n != c.attempts {
					t.Errorf("attempts = %d, want %d", n, c.attempts)
				}
				if c.class == nil && !c.unknown {
					if err != nil {
						t.Fatalf("err = %v", err)
					}
					if tok.AccessToken != "1000.access-new.secret" || tok.RefreshToken != testRefresh || tok.APIDomain != c.apiDom ||
						tok.Scope != prev.Scope || tok.AccountsServer != "https://accounts.zoho.com" {
						t.Errorf("token = %v", tok)
					}
					if life := time.Until(tok.Expiry); life != c.life {
						t.Errorf("lifetime = %v, want %v", life, c.life)
					}
					if strings.Contains(tok.Expiry.String(), "m=") {
						t.Errorf("expiry keeps a monotonic clock reading; after a host sleeps it would look unexpired")
					}
					return
				}
				var ze *zohoauth.Error
				if !errors.As(err, &ze) {
					t.Fatalf("err = %v (%T), want *zohoauth.Error", err, err)
				}
				if tok != nil {
					t.Errorf("got a token with an error")
				}
				for _, class := range []error{zohoauth.ErrReauthRequired, zohoauth.ErrThrottled, zohoauth.ErrTransient} {
					if got, want := errors.Is(err, class), class == c.class; got != want {
						t.Errorf("errors.Is(err, %v) = %v, want %v (err: %v)", class, got, want, err)
					}
				}
				if ze.Op != "refresh" || (c.status != 0 && ze.StatusCode != c.status) {
					t.Errorf("Op %q StatusCode %d", ze.Op, ze.StatusCode)
				}
				assertNoSecrets(t, "error", err.Error())
				assertNoSecrets(t, "error", fmt.Sprintf("%+v %#v", err, err))
			})
		})
	}
}

func TestTokenRequestIsAFormBody(t *testing.T) {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder("POST", tokenURL, func(r *http.Request) (*http.Response, error) {
		if r.URL.RawQuery != "" {
			t.Errorf("query string %q: secrets must go in the body", r.URL.RawQuery)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type = %q", ct)
		}
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		want := map[string]string{"grant_type": "authorization_code", "client_id": "client-1",
			"client_secret": testClientSecret, "code": testGrantCode, "redirect_uri": "https://app.example/cb"}
		for k, v := range want {
			if got := r.PostForm.Get(k); got != v {
				t.Errorf("form %s = %q, want %q", k, got, v)
			}
		}
		return httpmock.NewStringResponse(200, `{"access_token":"1000.access-new.secret","refresh_token":"`+testRefresh+`","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600,"scope":"ZohoCRM.modules.ALL ZohoCRM.settings.READ"}`), nil
	})
	cfg := mockConfig(mt)
	cfg.RedirectURL = "https://app.example/cb"
	tok, err := cfg.Exchange(bg(), testGrantCode)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != testRefresh || tok.Scope != "ZohoCRM.modules.ALL ZohoCRM.settings.READ" || tok.TokenType != "Bearer" {
		t.Errorf("token = %v", tok)
	}
}

func TestAccountsURLMustBeHTTPS(t *testing.T) {
	mt := httpmock.NewMockTransport()
	for _, u := range []string{"http://accounts.zoho.com", "ftp://accounts.zoho.com", "accounts.zoho.com", "https://user:pw@accounts.zoho.com"} {
		cfg := mockConfig(mt)
		cfg.AccountsURL = u
		_, err := cfg.Exchange(bg(), testGrantCode)
		if err == nil {
			t.Errorf("%s: exchange allowed", u)
		}
	}
	if n := mt.GetTotalCallCount(); n != 0 {
		t.Errorf("%d requests sent to refused URLs", n)
	}
}

func TestTokenEndpointRedirectNotFollowed(t *testing.T) {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder("POST", tokenURL, func(r *http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(307, "")
		resp.Header.Set("Location", "https://attacker.example/steal")
		return resp, nil
	})
	mt.RegisterResponder("POST", "https://attacker.example/steal", func(r *http.Request) (*http.Response, error) {
		t.Error("the token request followed a redirect to another host")
		return httpmock.NewStringResponse(200, "{}"), nil
	})
	_, err := mockConfig(mt).Exchange(bg(), testGrantCode)
	if err == nil {
		t.Fatal("a redirect was taken as success")
	}
}

func TestNetworkErrorIsTransientAndRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder("POST", tokenURL, httpmock.NewErrorResponder(errors.New("connection reset by peer")))
		_, err := mockConfig(mt).Refresh(bg(), &zohoauth.Token{RefreshToken: testRefresh})
		if !errors.Is(err, zohoauth.ErrTransient) {
			t.Fatalf("err = %v, want ErrTransient", err)
		}
		if n := mt.GetTotalCallCount(); n != 3 {
			t.Errorf("attempts = %d, want 3", n)
		}
		assertNoSecrets(t, "error", err.Error())
	})
}

func TestRefreshWithoutRefreshToken(t *testing.T) {
	_, err := mockConfig(httpmock.NewMockTransport()).Refresh(bg(), &zohoauth.Token{AccessToken: "x"})
	if !errors.Is(err, zohoauth.ErrReauthRequired) {
		t.Fatalf("err = %v, want ErrReauthRequired", err)
	}
}

func TestRefreshGoesToTheTokensDataCenter(t *testing.T) {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder("POST", "https://accounts.zoho.eu/oauth/v2/token",
		httpmock.NewStringResponder(200, `{"access_token":"1000.access-new.secret","expires_in":3600}`))
	cfg := mockConfig(mt) // configured for US
	tok, err := cfg.Refresh(bg(), &zohoauth.Token{RefreshToken: testRefresh, AccountsServer: "https://accounts.zoho.eu"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccountsServer != "https://accounts.zoho.eu" {
		t.Errorf("AccountsServer = %q", tok.AccountsServer)
	}
	// A token naming a server that is not Zoho's is refreshed at the
	// configured server, never at the named one.
	mt.RegisterResponder("POST", tokenURL, httpmock.NewStringResponder(200, `{"access_token":"1000.access-new.secret","expires_in":3600}`))
	tok, err = cfg.Refresh(bg(), &zohoauth.Token{RefreshToken: testRefresh, AccountsServer: "https://accounts.zoho.eu.attacker.example"})
	if err != nil || tok.AccountsServer != "https://accounts.zoho.com" {
		t.Fatalf("refresh for a foreign accounts server: %v, %v", tok, err)
	}
}

func TestRevoke(t *testing.T) {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder("POST", tokenURL+"/revoke", func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.RawQuery != "" {
			t.Errorf("revoke put the token in the URL")
		}
		if strings.Contains(string(b), testRefresh) {
			return httpmock.NewStringResponse(200, `{"status":"success"}`), nil
		}
		return httpmock.NewStringResponse(400, `{"status":"failure"}`), nil
	})
	cfg := mockConfig(mt)
	if err := cfg.Revoke(bg(), testRefresh); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	err := cfg.Revoke(bg(), "1000.unknown.token")
	var ze *zohoauth.Error
	if !errors.As(err, &ze) || ze.StatusCode != 400 {
		t.Fatalf("Revoke(unknown) = %v, want an *Error with HTTP 400", err)
	}
}

// A Config for one data center revokes another's token with RevokeToken,
// which goes to the accounts server the token came from.
func TestRevokeTokenAtItsDataCenter(t *testing.T) {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	_, refresh := srv.IssueToken("eu")
	cfg := fakeCredentials(srv.Transport()) // US accounts server
	var ze *zohoauth.Error
	if err := cfg.Revoke(bg(), refresh); !errors.As(err, &ze) || ze.StatusCode != http.StatusBadRequest {
		t.Fatalf("Revoke of an EU token at the US server = %v, want HTTP 400", err)
	}
	// A token naming a server that is not Zoho's is revoked at the
	// configured one: here it fails, and nothing is sent elsewhere.
	if err := cfg.RevokeToken(bg(), &zohoauth.Token{RefreshToken: refresh, AccountsServer: "https://accounts.zoho.eu.attacker.example"}); !errors.As(err, &ze) || ze.StatusCode != http.StatusBadRequest {
		t.Fatalf("RevokeToken with a foreign accounts server = %v, want HTTP 400 from the US server", err)
	}
	if err := cfg.RevokeToken(bg(), &zohoauth.Token{RefreshToken: refresh, AccountsServer: zohoauth.EU.AccountsURL}); err != nil {
		t.Fatalf("RevokeToken of an EU token: %v", err)
	}
	eu := fakeCredentials(srv.Transport())
	eu.AccountsURL = zohoauth.EU.AccountsURL
	if _, err := eu.Refresh(bg(), &zohoauth.Token{RefreshToken: refresh}); !errors.Is(err, zohoauth.ErrReauthRequired) {
		t.Fatalf("refresh after RevokeToken = %v, want ErrReauthRequired", err)
	}
	if err := cfg.RevokeToken(bg(), nil); err == nil {
		t.Fatal("RevokeToken(nil) succeeded")
	}
	if got := srv.Stats().TokenCalls["revoke"]; got != 3 {
		t.Errorf("revoke calls = %d, want 3", got)
	}
}
