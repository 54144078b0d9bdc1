package zohoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Config is a Zoho OAuth client: its credentials and the data center it
// talks to. It calls Zoho's token endpoint directly (Exchange, Refresh,
// Revoke); NewSource builds a refreshing TokenSource on top of it.
//
// A Config is safe for concurrent use once it is no longer being modified.
type Config struct {
	// ClientID and ClientSecret come from Zoho's API console.
	ClientID     string
	ClientSecret string
	// AccountsURL is the accounts server of the account's data center, for
	// example EU.AccountsURL. Empty means US. It must be https; plain http is
	// accepted only for loopback hosts (tests and fakes). When a token
	// carries the Zoho accounts server it came from, refreshes go there.
	AccountsURL string
	// RedirectURL is the redirect URI registered for the client. Leave it
	// empty for self-client grant codes.
	RedirectURL string
	// Scopes are requested by the consent URL and the client credentials
	// grant, e.g. "ZohoCRM.modules.ALL".
	Scopes []string
	// HTTPClient makes the token calls; nil means a client with a 30 s
	// timeout over http.DefaultTransport. Network errors and 5xx responses
	// are retried twice with backoff. Redirects are never followed, so a
	// client secret cannot be forwarded to another host.
	HTTPClient *http.Client
}

// Exchange trades a grant code (from the consent redirect or the API
// console's self client) for an access token and a refresh token. Grant
// codes are single use and expire within minutes. The returned token records
// the accounts server it came from.
func (c *Config) Exchange(ctx context.Context, code string) (*Token, error) {
	const op = "exchange"
	if code == "" {
		return nil, &Error{Op: op, Class: ClassReauth, Err: errors.New("empty grant code")}
	}
	base, err := c.accountsBase(nil)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {c.ClientID},
		"client_secret": {c.ClientSecret},
		"code":          {code},
	}
	if c.RedirectURL != "" {
		form.Set("redirect_uri", c.RedirectURL)
	}
	return c.tokenCall(ctx, op, base, form, nil, nil)
}

// Refresh mints a new access token with tok's refresh token. Zoho's answer
// has no refresh token and sometimes no api_domain; the returned token keeps
// tok's values for those. tok is not modified.
//
// Refresh talks to Zoho every time it is called. Zoho allows 10 access
// tokens per refresh token per 10 minutes; prefer a Source, which enforces
// that limit and shares one refresh among all callers.
func (c *Config) Refresh(ctx context.Context, tok *Token) (*Token, error) {
	return c.refresh(ctx, tok, nil)
}

func (c *Config) refresh(ctx context.Context, tok *Token, gate callGate) (*Token, error) {
	const op = "refresh"
	if tok == nil || tok.RefreshToken == "" {
		return nil, &Error{Op: op, Class: ClassReauth, Err: errors.New("the token has no refresh token; exchange a grant code first")}
	}
	base, err := c.accountsBase(tok)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {c.ClientID},
		"client_secret": {c.ClientSecret},
		"refresh_token": {tok.RefreshToken},
	}
	return c.tokenCall(ctx, op, base, form, tok, gate)
}

// Revoke revokes a refresh token at c's accounts server. Every access token
// minted from it stops working too. Zoho answers HTTP 400 for a token it does
// not know, which includes a token of another data center: use RevokeToken
// for a token that may come from one.
func (c *Config) Revoke(ctx context.Context, refreshToken string) error {
	return c.revoke(ctx, refreshToken, nil)
}

// RevokeToken revokes tok's refresh token at the accounts server tok came
// from (tok.AccountsServer, when it is one of Zoho's), as Refresh does, so one
// Config can revoke tokens of every data center.
func (c *Config) RevokeToken(ctx context.Context, tok *Token) error {
	if tok == nil {
		return &Error{Op: "revoke", Err: errors.New("nil token")}
	}
	return c.revoke(ctx, tok.RefreshToken, tok)
}

func (c *Config) revoke(ctx context.Context, refreshToken string, tok *Token) error {
	const op = "revoke"
	if refreshToken == "" {
		return &Error{Op: op, Err: errors.New("empty refresh token")}
	}
	base, err := c.accountsBase(tok)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	form := url.Values{"token": {refreshToken}}
	a, err := c.post(ctx, base+"/oauth/v2/token/revoke", form, nil)
	status, body := a.status, a.body
	if err != nil {
		return transportError(op, status, err, form)
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	_ = json.Unmarshal(body, &r)
	if status/100 == 2 && strings.EqualFold(r.Status, "success") {
		return nil
	}
	e := &Error{Op: op, StatusCode: status, Code: sanitize(r.Error, form, c.ClientSecret), Class: classify(r.Error, "", status)}
	if status == http.StatusBadRequest && e.Code == "" {
		e.Err = errors.New("zoho does not know this refresh token (already revoked, or another data center)")
	} else if e.Code == "" {
		e.Err = errors.New("unexpected response")
	}
	return e
}

// accountsBase picks the accounts server for a call: the token's own Zoho
// accounts server if it has one, else the configured one.
func (c *Config) accountsBase(tok *Token) (string, error) {
	base := c.AccountsURL
	if base == "" {
		base = US.AccountsURL
	}
	if tok != nil && tok.AccountsServer != "" && tok.AccountsServer != base && isZohoAccountsURL(tok.AccountsServer) {
		base = tok.AccountsServer
	}
	base = strings.TrimSuffix(base, "/")
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("accounts URL %s is not an absolute URL", quoteShort(base))
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return "", fmt.Errorf("accounts URL %s must use https (plain http is allowed only for loopback test servers)", quoteShort(base))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("accounts URL %s must not carry user info, a query or a fragment", quoteShort(base))
	}
	return base, nil
}
