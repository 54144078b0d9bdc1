// Package oauth2adapter connects zohoauth to golang.org/x/oauth2, for code
// built on that package: a zohoauth TokenSource can serve where an
// oauth2.TokenSource is expected, and tokens obtained or saved through
// x/oauth2 can be carried over into zohoauth without losing the account's
// api_domain.
//
// It is a module of its own so that zohoauth itself does not depend on
// x/oauth2.
package oauth2adapter

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-zoho/zohoauth"
	"golang.org/x/oauth2"
)

// TokenType is the TokenType of the oauth2.Tokens made here. oauth2.Transport
// and oauth2.NewClient send "Authorization: <TokenType> <token>", and some
// Zoho APIs (CRM among them) refuse "Bearer"; this is the scheme they all
// accept.
const TokenType = "Zoho-oauthtoken"

// Extra keys under which the oauth2.Tokens made here carry zohoauth's
// fields (see oauth2.Token.Extra). The first two are the names Zoho's token
// endpoint uses.
const (
	ExtraAPIDomain      = "api_domain"
	ExtraScope          = "scope"
	ExtraAccountsServer = "accounts_server"
)

// TokenSource returns an oauth2.TokenSource that takes its tokens from src,
// converted by ToOAuth2.
//
// oauth2.TokenSource's Token method has no context, so the ctx given here
// is captured and passed to every src.Token call: it bounds the wait for a
// refresh, and once it is done every Token call that has to wait fails.
// Give it a context that lives as long as the token source is used (a
// service's, not a request's).
//
// There is no need to wrap the result in oauth2.ReuseTokenSource: a
// zohoauth.Source already keeps and shares its token. Note that
// oauth2.Transport does not recover from a 401 the way zohoauth.Transport
// does; prefer zohoauth.Transport where you build the http.Client yourself.
func TokenSource(ctx context.Context, src zohoauth.TokenSource) oauth2.TokenSource {
	return &tokenSource{ctx: ctx, src: src}
}

type tokenSource struct {
	ctx context.Context
	src zohoauth.TokenSource
}

func (s *tokenSource) Token() (*oauth2.Token, error) {
	tok, err := s.src.Token(s.ctx)
	if err != nil {
		return nil, err
	}
	return ToOAuth2(tok), nil
}

// ToOAuth2 returns tok as an oauth2.Token with TokenType set to TokenType
// and the api_domain, scope and accounts server in its Extra fields.
func ToOAuth2(tok *zohoauth.Token) *oauth2.Token {
	t := &oauth2.Token{
		AccessToken:  tok.AccessToken,
		TokenType:    TokenType,
		RefreshToken: tok.RefreshToken,
		Expiry:       tok.Expiry,
	}
	if !tok.Expiry.IsZero() {
		t.ExpiresIn = int64(max(time.Until(tok.Expiry), 0) / time.Second)
	}
	return t.WithExtra(map[string]any{
		ExtraAPIDomain:      tok.APIDomain,
		ExtraScope:          tok.Scope,
		ExtraAccountsServer: tok.AccountsServer,
	})
}

// maxLifetime is the longest an imported access token is believed to live:
// Zoho's access tokens live one hour. A later expiry comes from reading
// Zoho's legacy expires_in (milliseconds) as seconds, which x/oauth2 does.
const maxLifetime = time.Hour

var errNoToken = errors.New("oauth2adapter: the token has neither an access token nor a refresh token")

// FromOAuth2 returns tok, typically from an x/oauth2 Config's Exchange or
// token source pointed at Zoho, as a zohoauth.Token.
//
// api_domain and scope come from tok's Extra fields, which x/oauth2 fills
// from Zoho's token response (ToOAuth2's accounts server too); an
// oauth2.Token decoded from JSON has none (see ParseJSON). When the
// api_domain is one of Zoho's data centers, the token's accounts server is
// set to that data center's, so refreshes go there.
//
// x/oauth2 reads Zoho's legacy "expires_in" in milliseconds as seconds and
// so believes such tokens live for weeks. When Zoho's "expires_in_sec" is
// present it is used instead, and an expiry more than an hour away is cut
// to one hour from now.
func FromOAuth2(tok *oauth2.Token) (*zohoauth.Token, error) {
	if tok == nil || tok.AccessToken == "" && tok.RefreshToken == "" {
		return nil, errNoToken
	}
	z := &zohoauth.Token{
		AccessToken:    tok.AccessToken,
		RefreshToken:   tok.RefreshToken,
		TokenType:      tok.TokenType,
		APIDomain:      extraString(tok, ExtraAPIDomain),
		Scope:          extraString(tok, ExtraScope),
		AccountsServer: extraString(tok, ExtraAccountsServer),
		Expiry:         tok.Expiry,
	}
	if secs, ok := extraSeconds(tok, "expires_in_sec"); ok && tok.ExpiresIn > 0 && !tok.Expiry.IsZero() {
		received := tok.Expiry.Add(-time.Duration(tok.ExpiresIn) * time.Second)
		z.Expiry = received.Add(secs)
	}
	finish(z)
	return z, nil
}

// savedToken is the union of the JSON forms a saved token may have: an
// oauth2.Token marshalled by encoding/json, zohoauth.Token's own form, and
// Zoho's token response.
type savedToken struct {
	AccessToken    string    `json:"access_token"`
	TokenType      string    `json:"token_type"`
	RefreshToken   string    `json:"refresh_token"`
	Expiry         time.Time `json:"expiry"`
	APIDomain      string    `json:"api_domain"`
	Scope          string    `json:"scope"`
	AccountsServer string    `json:"accounts_server"`
}

// ParseJSON reads a saved token into a zohoauth.Token. It accepts an
// oauth2.Token encoded with encoding/json, zohoauth.Token's JSON form, or
// Zoho's token response as received, and keeps every field it finds:
// api_domain, scope and accounts_server included.
//
// encoding/json drops an oauth2.Token's Extra fields, so JSON saved from
// an oauth2.Token has no api_domain unless the program stored it beside the
// token. Then set APIDomain yourself (from the account's DataCenter, for
// example); with no accounts server known either, refreshes go to the
// Config's AccountsURL.
//
// A token response saved without an expiry time counts as expired, since
// when it was received is unknown; a Source refreshes it on first use. As
// in FromOAuth2, an expiry more than an hour away is cut to one hour.
func ParseJSON(data []byte) (*zohoauth.Token, error) {
	var s savedToken
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, errors.New("oauth2adapter: the saved token is not a JSON object")
	}
	if s.AccessToken == "" && s.RefreshToken == "" {
		return nil, errNoToken
	}
	z := &zohoauth.Token{
		AccessToken:    s.AccessToken,
		RefreshToken:   s.RefreshToken,
		TokenType:      s.TokenType,
		APIDomain:      s.APIDomain,
		Scope:          s.Scope,
		AccountsServer: s.AccountsServer,
		Expiry:         s.Expiry,
	}
	finish(z)
	return z, nil
}

// finish trims the api_domain, fills in the accounts server of a known
// data center, and bounds the expiry. The expiry keeps no monotonic clock
// reading (x/oauth2 computes it with time.Now): it is a wall-clock fact, as
// in zohoauth's own tokens, so a host that slept sees the token expire.
func finish(z *zohoauth.Token) {
	z.APIDomain = strings.TrimSuffix(z.APIDomain, "/")
	if z.AccountsServer == "" {
		if dc, ok := dataCenterOfAPIDomain(z.APIDomain); ok {
			z.AccountsServer = dc.AccountsURL
		}
	}
	z.Expiry = z.Expiry.Round(0)
	if limit := time.Now().Add(maxLifetime).Round(0); z.Expiry.After(limit) {
		z.Expiry = limit
	}
}

// dataCenterOfAPIDomain finds the data center whose API domain covers the
// host of apiDomain (www.zohoapis.eu, sandbox.zohoapis.eu: EU).
func dataCenterOfAPIDomain(apiDomain string) (zohoauth.DataCenter, bool) {
	u, err := url.Parse(apiDomain)
	if err != nil || u.Scheme != "https" || u.Port() != "" {
		return zohoauth.DataCenter{}, false
	}
	host := strings.ToLower(u.Hostname())
	for _, dc := range zohoauth.DataCenters() {
		suffix := strings.TrimPrefix(dc.APIDomain, "https://www.")
		if host == suffix || strings.HasSuffix(host, "."+suffix) {
			return dc, true
		}
	}
	return zohoauth.DataCenter{}, false
}

func extraString(tok *oauth2.Token, key string) string {
	s, _ := tok.Extra(key).(string)
	return s
}

// extraSeconds reads a count of seconds from an Extra field, which is a
// float64 or json.Number from a JSON response, an int64 or string from a
// form response.
func extraSeconds(tok *oauth2.Token, key string) (time.Duration, bool) {
	var secs float64
	switch v := tok.Extra(key).(type) {
	case float64:
		secs = v
	case int64:
		secs = float64(v)
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return 0, false
		}
		secs = f
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, false
		}
		secs = f
	default:
		return 0, false
	}
	if secs <= 0 || secs > maxLifetime.Seconds()*24 {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}
