package zohoauth

import (
	"encoding/json"
	"sync/atomic"
	"time"
)

// Token is one set of Zoho OAuth credentials: an access token, the refresh
// token that mints new ones, and where they may be used.
//
// A Token obtained from this package must be treated as immutable: sources
// hand the same *Token to many goroutines. Copy it before changing a field.
//
// Printing a Token with any fmt verb, String, GoString or log/slog never shows
// the access token or the refresh token. Its JSON form (see MarshalJSON) does
// hold them, since that is what stores persist.
type Token struct {
	// AccessToken is sent on API calls. It lives about one hour.
	AccessToken string
	// RefreshToken mints new access tokens. Zoho never rotates it; refresh
	// responses omit it and this package keeps the previous value.
	RefreshToken string
	// TokenType is what Zoho reported, usually "Bearer". The header this
	// package sends is chosen by Transport.Scheme, not by this field.
	TokenType string
	// APIDomain is the base URL for this account's API calls, for example
	// "https://www.zohoapis.eu". Refresh responses may omit it; the previous
	// value is kept.
	APIDomain string
	// Scope lists the granted scopes, separated by spaces, as Zoho reports them.
	Scope string
	// Expiry is when the access token stops working. The zero time means
	// unknown: such a token is treated as expired.
	Expiry time.Time
	// AccountsServer is the Zoho accounts server the token came from, for
	// example "https://accounts.zoho.eu". Refreshes go there.
	AccountsServer string

	// auth caches the Authorization header values for this access token so
	// the hot path does not concatenate strings. It is set only on tokens
	// built by this package and never serialised.
	auth *authValues
}

type authValues struct {
	zoho   []string
	bearer []string
	// api is where the token's api_domain points, when that is a host a
	// token may be sent to (see apiDomainTarget); its zero value otherwise.
	api apiTarget
	// dc is the token's data center (see dataCenterOf), nil if unknown.
	dc *dcInfo
	// ambiguous is set on a token fetched to answer a 401 that may mean a
	// dead token or a missing scope (Product.Ambiguous). If it gets the
	// same answer, the grant lacks the scope; it is not refreshed for it.
	ambiguous atomic.Bool
}

// sealed returns a copy of t with its header values, api_domain host and
// data center precomputed and its expiry on the wall clock only.
func (t *Token) sealed() *Token {
	c := *t
	// An expiry is a wall-clock fact. A monotonic reading (time.Now().Add
	// in a caller's code) would stop while the host is suspended and make
	// a dead token look valid after it wakes.
	c.Expiry = c.Expiry.Round(0)
	c.auth = &authValues{
		zoho:   []string{schemeZoho + " " + c.AccessToken}[:1:1],
		bearer: []string{schemeBearer + " " + c.AccessToken}[:1:1],
		api:    apiDomainTarget(c.APIDomain),
		dc:     dataCenterOf(c.APIDomain, c.AccountsServer),
	}
	return &c
}

// The Authorization schemes Zoho knows. Zoho-oauthtoken works with every
// Zoho API; some (CRM, Campaigns) have been seen to refuse Bearer.
const (
	schemeZoho   = "Zoho-oauthtoken"
	schemeBearer = "Bearer"
)

// header is the Authorization header value for the token with scheme (""
// means Zoho-oauthtoken). A token this package built has it ready, so the
// hot path concatenates nothing; the slice must not be modified.
func (t *Token) header(scheme string) []string {
	if a := t.auth; a != nil {
		switch scheme {
		case "", schemeZoho:
			return a.zoho
		case schemeBearer:
			return a.bearer
		}
	}
	if scheme == "" {
		scheme = schemeZoho
	}
	return []string{scheme + " " + t.AccessToken}
}

// Expired reports whether the access token has expired or is missing. A
// token with a zero Expiry counts as expired.
func (t *Token) Expired() bool { return t.expiredAt(time.Now()) }

// Valid reports whether t has an access token that has not expired.
func (t *Token) Valid() bool { return t != nil && !t.Expired() }

func (t *Token) expiredAt(now time.Time) bool {
	return t == nil || t.AccessToken == "" || t.Expiry.IsZero() || !now.Before(t.Expiry)
}

// tokenJSON is the stored form of a Token. It keeps every field, unlike
// golang.org/x/oauth2.Token which drops api_domain.
type tokenJSON struct {
	AccessToken    string    `json:"access_token,omitempty"`
	RefreshToken   string    `json:"refresh_token,omitempty"`
	TokenType      string    `json:"token_type,omitempty"`
	APIDomain      string    `json:"api_domain,omitempty"`
	Scope          string    `json:"scope,omitempty"`
	Expiry         time.Time `json:"expiry"`
	AccountsServer string    `json:"accounts_server,omitempty"`
}

// MarshalJSON encodes every field of the token, secrets included, with the
// expiry as an RFC 3339 time. Stores use this form.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(tokenJSON{
		AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType,
		APIDomain: t.APIDomain, Scope: t.Scope, Expiry: t.Expiry, AccountsServer: t.AccountsServer,
	})
}

// UnmarshalJSON decodes the form written by MarshalJSON.
func (t *Token) UnmarshalJSON(b []byte) error {
	var j tokenJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = j.token()
	return nil
}

func (j tokenJSON) token() Token {
	return Token{
		AccessToken: j.AccessToken, RefreshToken: j.RefreshToken, TokenType: j.TokenType,
		APIDomain: j.APIDomain, Scope: j.Scope, Expiry: j.Expiry, AccountsServer: j.AccountsServer,
	}
}
