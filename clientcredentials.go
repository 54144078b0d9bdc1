package zohoauth

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// ClientCredentials mints an access token with the client credentials
// grant, which Zoho offers to self clients: no user consent, no grant code
// and no refresh token. soid names the organization the token acts for,
// "ZohoCRM.<org id>" for CRM. The scopes are c.Scopes.
//
// Every call asks Zoho for a new token, and Zoho allows 10 per 10 minutes.
// Prefer NewClientCredentialsSource, which reuses a token until it goes
// stale and shares one mint among all callers.
func (c *Config) ClientCredentials(ctx context.Context, soid string) (*Token, error) {
	return c.clientCredentials(ctx, soid, nil)
}

func (c *Config) clientCredentials(ctx context.Context, soid string, gate callGate) (*Token, error) {
	const op = "client_credentials"
	if soid == "" {
		return nil, &Error{Op: op, Err: errors.New(`empty soid; Zoho expects "ZohoCRM.<org id>"`)}
	}
	if len(c.Scopes) == 0 {
		return nil, &Error{Op: op, Err: errors.New("no scopes configured; set Config.Scopes")}
	}
	base, err := c.accountsBase(nil)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.ClientID},
		"client_secret": {c.ClientSecret},
		"scope":         {strings.Join(c.Scopes, ",")},
		"soid":          {soid},
	}
	return c.tokenCall(ctx, op, base, form, nil, gate)
}

// NewClientCredentialsSource returns a Source for a self client that uses
// the client credentials grant (see Config.ClientCredentials). Since such
// tokens come without a refresh token, the source mints a new one wherever
// a Source built by NewSource would refresh: when the token goes stale,
// expires, or is rejected by the API. Everything else is as for NewSource:
// one mint shared by all callers, at most 10 mints per 10 minutes, backoff
// after failures, and the same options (a Store to share the token with
// other processes, the refresh window, a logger). It works with Transport
// like any TokenSource.
func NewClientCredentialsSource(cfg *Config, soid string, opts ...Option) *Source {
	return newSource(cfg, func(ctx context.Context, cfg *Config, _ *Token, gate callGate) (*Token, error) {
		return cfg.clientCredentials(ctx, soid, gate)
	}, opts)
}
