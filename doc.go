// Package zohoauth gives any Go http.Client working Zoho OAuth.
//
// A Config holds a Zoho client's id, secret and data center and talks to the
// token endpoint: Exchange trades a grant code for tokens, Refresh mints a
// new access token, RevokeToken revokes a refresh token. A Source built on it
// keeps the access token fresh for any number of goroutines, and a Transport
// puts the token on every request to Zoho's API and recovers, once, when the
// API answers 401 because the token was revoked or evicted:
//
//	cfg := &zohoauth.Config{ClientID: id, ClientSecret: secret, AccountsURL: zohoauth.EU.AccountsURL}
//	tok, err := cfg.Exchange(ctx, grantCode) // once, with a self-client code
//	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok), zohoauth.WithStore(zohoauth.NewFileStore(path)))
//	defer src.Close()
//	client := zohoauth.NewClient(src)
//	resp, err := client.Get(tok.APIDomain + "/crm/v8/Leads")
//
// # What it takes care of
//
// Zoho lets one refresh token mint 10 access tokens per 10 minutes and keeps
// only 15 alive, evicting the oldest. A Source therefore refreshes once for
// all its callers, backs off after failures, waits out throttling while it
// serves any token still valid, and never asks for more than 10 tokens in 10
// minutes. With a Store the token survives restarts; with a store that is
// also a Locker (FileStore, MemoryStore, redisstore) processes sharing it
// take turns, so a fleet refreshes once per expiry instead of once per
// process.
//
// Zoho reports token errors with HTTP 200; they come back as *Error, whose
// class callers test with errors.Is: ErrReauthRequired (a person must create
// a new grant), ErrThrottled, ErrTransient.
//
// Tokens, client secrets and grant codes never appear in this package's
// errors, logs or in the fmt and slog forms of its types.
//
// Package zohotest provides a fake Zoho for tests, and the zohoauth command
// (cmd/zohoauth) does the one-time grant exchange and serves scripts and cron
// jobs.
package zohoauth
