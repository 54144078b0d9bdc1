package zohoauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// AuthOption changes the consent URL built by AuthCodeURL.
type AuthOption interface{ applyAuth(url.Values) }

type authOptionFunc func(url.Values)

func (f authOptionFunc) applyAuth(v url.Values) { f(v) }

// PromptConsent makes Zoho show the consent page even to a user who has
// already agreed, so that the exchange yields a new refresh token. Without
// it, Zoho returns a refresh token only on a user's first consent. Each new
// refresh token takes one of the 20 that Zoho keeps per user and client; the
// 21st silently deletes the oldest.
func PromptConsent() AuthOption {
	return authOptionFunc(func(v url.Values) { v.Set("prompt", "consent") })
}

// AuthCodeURL returns the address of Zoho's consent page on the configured
// accounts server (US when AccountsURL is empty; Zoho sends users of other
// data centers back with their own accounts server, see ExchangeRedirect).
// It asks for c.Scopes, joined with commas as Zoho expects, for offline
// access (a refresh token), and for a redirect to c.RedirectURL carrying
// state. state should be a fresh random value per consent, kept by the
// caller (for example in a cookie) and checked by ExchangeRedirect.
func (c *Config) AuthCodeURL(state string, opts ...AuthOption) string {
	base := c.AccountsURL
	if base == "" {
		base = US.AccountsURL
	}
	v := url.Values{
		"response_type": {"code"},
		"client_id":     {c.ClientID},
		"access_type":   {"offline"},
	}
	if len(c.Scopes) > 0 {
		v.Set("scope", strings.Join(c.Scopes, ","))
	}
	if c.RedirectURL != "" {
		v.Set("redirect_uri", c.RedirectURL)
	}
	if state != "" {
		v.Set("state", state)
	}
	for _, o := range opts {
		o.applyAuth(v)
	}
	return strings.TrimSuffix(base, "/") + "/oauth/v2/auth?" + v.Encode()
}

// ErrStateMismatch is returned by ExchangeRedirect when the redirect's state
// is not the one the consent started with: the redirect may be forged, and
// no code is exchanged.
var ErrStateMismatch = errors.New("zohoauth: consent redirect state does not match")

var errNoState = errors.New("zohoauth: no expected state given; pass the state the consent URL was built with")

// ExchangeRedirect completes the consent flow. r is the request that Zoho's
// redirect made to RedirectURL; state is the value given to AuthCodeURL.
//
// It checks r's state, reads the grant code, and picks the account's data
// center from the redirect's "location" and "accounts-server" parameters.
// Only Zoho's own accounts servers are accepted (see DataCenterFromRedirect),
// or c.AccountsURL itself: the client secret is never sent to a server named
// by an attacker-controlled URL. The code is then exchanged at that server
// (c is not modified), so the returned token records the account's accounts
// server and api_domain and refreshes there.
//
// A forged or stale redirect gives ErrStateMismatch, an accounts server
// that is not Zoho's gives an error matching ErrUnknownAccountsServer; in
// both cases nothing is sent anywhere. A user who declines consent comes
// back with an "error" parameter; the result is then an *Error whose Code
// holds it and which matches ErrReauthRequired.
func (c *Config) ExchangeRedirect(ctx context.Context, r *http.Request, state string) (*Token, error) {
	const op = "exchange"
	if state == "" {
		return nil, errNoState
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		return nil, ErrStateMismatch
	}
	if e := q.Get("error"); e != "" {
		return nil, &Error{Op: op, Code: sanitize(e, q), Class: ClassReauth, Err: errors.New("consent was not granted")}
	}
	code := q.Get("code")
	if code == "" {
		return nil, &Error{Op: op, Class: ClassReauth, Err: errors.New("the redirect carries no grant code")}
	}
	cfg := *c
	location, server := q.Get("location"), q.Get("accounts-server")
	switch {
	case server != "" && sameServer(server, c.AccountsURL):
		// The configured server was trusted with the secret already.
	case location != "" || server != "":
		dc, err := DataCenterFromRedirect(location, server)
		if err != nil {
			return nil, err
		}
		cfg.AccountsURL = dc.AccountsURL
	}
	return cfg.Exchange(ctx, code)
}

// sameServer reports whether two accounts server URLs name the same
// scheme and host, ignoring case and a trailing slash.
func sameServer(a, b string) bool {
	if b == "" {
		b = US.AccountsURL
	}
	ua, err1 := url.Parse(strings.TrimSuffix(a, "/"))
	ub, err2 := url.Parse(strings.TrimSuffix(b, "/"))
	if err1 != nil || err2 != nil || ua.Host == "" || ua.User != nil || ua.RawQuery != "" || ua.Fragment != "" {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) && ua.Path == ub.Path
}
