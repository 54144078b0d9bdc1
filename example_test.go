package zohoauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// fakeZohoConfig returns a Config wired to an in-memory fake Zoho. In real
// code, leave HTTPClient nil and set your client's id and secret.
func fakeZohoConfig(srv *zohotest.Server) *zohoauth.Config {
	return &zohoauth.Config{
		ClientID:     "test-client-id",
		ClientSecret: "test-client-secret",
		AccountsURL:  zohoauth.EU.AccountsURL,
		HTTPClient:   &http.Client{Transport: srv.Transport()},
	}
}

// Trade a grant code (from the API console's self client) for tokens.
func ExampleConfig_Exchange() {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	code := srv.NewGrantCode("eu", "ZohoCRM.modules.ALL")

	cfg := fakeZohoConfig(srv)
	tok, err := cfg.Exchange(context.Background(), code)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("api domain:", tok.APIDomain)
	fmt.Println("has refresh token:", tok.RefreshToken != "")
	fmt.Println("expires in about:", time.Until(tok.Expiry).Round(time.Minute))
	fmt.Println("printed:", strings.Contains(fmt.Sprint(tok), "REDACTED"))

	// A grant code works once.
	_, err = cfg.Exchange(context.Background(), code)
	fmt.Println(err)
	// Output:
	// api domain: https://www.zohoapis.eu
	// has refresh token: true
	// expires in about: 1h0m0s
	// printed: true
	// zohoauth: exchange failed (HTTP 200): "invalid_code" (grant codes are single-use and expire within minutes; generate a new one)
}

// Refresh by hand, as a cron job would: the refresh token and api_domain
// carry over, since Zoho's answer may have neither.
func ExampleConfig_Refresh() {
	srv := zohotest.New(zohotest.Options{OmitAPIDomainOnRefresh: true})
	defer srv.Close()
	cfg := fakeZohoConfig(srv)
	tok, _ := cfg.Exchange(context.Background(), srv.NewGrantCode("eu"))

	fresh, err := cfg.Refresh(context.Background(), tok)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("new access token:", fresh.AccessToken != tok.AccessToken)
	fmt.Println("same refresh token:", fresh.RefreshToken == tok.RefreshToken)
	fmt.Println("api domain:", fresh.APIDomain)
	fmt.Println("token calls:", srv.Stats().TokenCalls)
	// Output:
	// new access token: true
	// same refresh token: true
	// api domain: https://www.zohoapis.eu
	// token calls: map[authorization_code:1 refresh_token:1]
}

// Carry on from saved values: an access token that has run out and the
// refresh token. The Source refreshes on first use.
func ExampleNewSource_savedValues() {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	_, refresh := srv.IssueToken("eu") // what you saved earlier

	saved := &zohoauth.Token{
		AccessToken:    "1000.expired.token",
		RefreshToken:   refresh,
		APIDomain:      "https://www.zohoapis.eu",
		Expiry:         time.Now().Add(-time.Minute),
		AccountsServer: zohoauth.EU.AccountsURL,
	}
	fmt.Println("expired:", saved.Expired())

	src := zohoauth.NewSource(fakeZohoConfig(srv), zohoauth.WithToken(saved))
	defer src.Close()
	tok, err := src.Token(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("expired:", tok.Expired(), "valid:", tok.Valid())
	fmt.Println("refreshes:", srv.Stats().TokenCalls["refresh_token"])
	// Output:
	// expired: true
	// expired: false valid: true
	// refreshes: 1
}

// Wrap an http.Client: every request to Zoho's API carries a valid token,
// and a token revoked on Zoho's side is replaced once, transparently.
func ExampleNewClient() {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	cfg := fakeZohoConfig(srv)
	tok, _ := cfg.Exchange(context.Background(), srv.NewGrantCode("eu"))

	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
	defer src.Close()
	// zohoauth.NewClient(src) in real code; here the base transport is the fake.
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: srv.Transport()}}

	resp, _ := client.Post(tok.APIDomain+"/crm/v8/Leads", "application/json",
		strings.NewReader(`{"data":[{"Last_Name":"Nakamura"}]}`))
	var created struct {
		Data []struct {
			Code    string
			Details struct{ ID string }
		}
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, created.Data[0].Code, created.Data[0].Details.ID)

	srv.RevokeAccessToken(tok.AccessToken) // e.g. evicted by a 16th token
	resp, _ = client.Get(tok.APIDomain + "/crm/v8/Leads?fields=Last_Name")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	fmt.Println("refreshes:", srv.Stats().TokenCalls["refresh_token"])
	// Output:
	// 201 SUCCESS 5725767000000400001
	// 200 {"data":[{"Last_Name":"Nakamura","id":"5725767000000400001"}],"info":{"per_page":200,"count":1,"page":1,"more_records":false}}
	// refreshes: 1
}

// Put the Transport under an existing client's transport settings.
func ExampleTransport() {
	srv := zohotest.New(zohotest.Options{AcceptBearer: true}) // like an API that takes Bearer
	defer srv.Close()
	cfg := fakeZohoConfig(srv)
	tok, _ := cfg.Exchange(context.Background(), srv.NewGrantCode("eu"))
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
	defer src.Close()

	myTransport := srv.Transport() // your tuned *http.Transport in real code
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &zohoauth.Transport{Source: src, Base: myTransport, Scheme: "Bearer"},
	}
	resp, err := client.Get(tok.APIDomain + "/crm/v8/Deals?fields=Deal_Name")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Fields(srv.Stats().AuthHeaders[0])[0])
	// Output:
	// 204 Bearer
}

// Tell an expired token from a valid one.
func ExampleToken_Expired() {
	tok := &zohoauth.Token{AccessToken: "1000.x.y", Expiry: time.Now().Add(-time.Second)}
	fmt.Println(tok.Expired())
	tok.Expiry = time.Now().Add(time.Hour)
	fmt.Println(tok.Expired())
	// Output:
	// true
	// false
}

// Revoke a token's refresh token at the data center the token came from: it
// and every access token it minted stop working.
func ExampleConfig_RevokeToken() {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	cfg := fakeZohoConfig(srv)
	tok, _ := cfg.Exchange(context.Background(), srv.NewGrantCode("eu"))

	fmt.Println(cfg.RevokeToken(context.Background(), tok))
	_, err := cfg.Refresh(context.Background(), tok)
	fmt.Println(err)
	// Output:
	// <nil>
	// zohoauth: refresh failed (HTTP 200): "invalid_code" (the refresh token was revoked or evicted; create a new grant and exchange it)
}
