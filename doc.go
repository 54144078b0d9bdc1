// Package zohoauth gives any Go http.Client working Zoho OAuth.
//
// A Config holds a Zoho client's id, secret and data center and talks to the
// token endpoint: DeviceAuth and DeviceAccessToken log a person in, Exchange
// trades a grant code for tokens, Refresh mints a new access token,
// RevokeToken revokes a refresh token. A Source built on it keeps the access
// token fresh for any number of goroutines, and a Transport puts the token on
// every request to a Zoho product's API (CRM, Books, Desk, Mail, Projects, and
// the others in Products) in the token's own data center, and recovers, once,
// when the API answers 401 because the token was revoked or evicted:
//
//	cfg := &zohoauth.Config{ClientID: id, ClientSecret: secret, AccountsURL: zohoauth.EU.AccountsURL}
//	src := zohoauth.NewSource(cfg, zohoauth.WithStore(zohoauth.NewFileStore(path))) // saved by zohoauth login
//	defer src.Close()
//	client := zohoauth.NewClient(src)
//	resp, err := client.Get("https://www.zohoapis.eu/crm/v8/Leads?fields=Last_Name")
//
// # What it takes care of
//
// Zoho lets one refresh token mint 10 access tokens per 10 minutes and keeps
// only 15 alive, evicting the oldest. A Source therefore refreshes once for
// all its callers, backs off after failures, waits out throttling while it
// serves any token still valid, and never asks for more than 10 tokens in 10
// minutes. With a Store the token survives restarts; with a store that is
// also a Locker and a Ledger (FileStore, MemoryStore, redisstore) processes
// sharing it take turns and share one budget of calls, so a fleet refreshes
// once per expiry and stays within Zoho's limits as one process would.
//
// Zoho reports token errors with HTTP 200; they come back as *Error, whose
// class callers test with errors.Is: ErrReauthRequired (a person must log in
// again), ErrThrottled, ErrTransient.
//
// Tokens, client secrets, grant and device codes never appear in this
// package's errors, logs or in the fmt, slog and JSON forms of its types
// (Token's JSON form, which stores persist, excepted).
//
// Package zohotest provides a fake Zoho for tests, and the zohoauth command
// (cmd/zohoauth) logs in, stores the token and serves scripts and cron jobs.
package zohoauth
