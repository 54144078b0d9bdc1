package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-zoho/zohoauth"
)

// tokenMinLeft is the least validity "zohoauth token" hands out: a script
// gets a token it can use for a while, not one about to expire.
const tokenMinLeft = time.Minute

func runExchange(c *cli, args []string) int {
	fs := c.flagSet("-code CODE [-dc DC | -accounts-url URL] [flags]", `
Exchange turns a grant code into an access token and a refresh token and
saves them in the token file (mode 0600), replacing any token stored there.
It holds the token file's lock meanwhile, so that a process refreshing the
old token at the same moment cannot write it back over the new one.
Create the code in the API console (api-console.zoho.com, or the console of
your data center): Self Client, Generate Code, with the scopes you need.
Codes are single use and expire within minutes.

It prints where it saved the token and when the access token expires; it
never prints a token or the client secret.`)
	var o options
	code := fs.String("code", "", "the grant code from the API console (required)")
	o.addServer(fs, "default us; a code works only in the data center where it was created")
	o.addClient(fs)
	o.addTokenFile(fs)
	if _, status, done := c.parse(fs, args, 0); done {
		return status
	}
	if strings.TrimSpace(*code) == "" {
		return c.fail(exitFailure, errors.New("missing -code: generate a grant code in the API console (Self Client, Generate Code) and pass it with -code"))
	}
	store, err := o.store()
	if err != nil {
		return c.fail(exitFailure, err)
	}
	cfg, err := o.config(c, nil)
	if err != nil {
		return c.fail(exitFailure, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	// The token file's lock, held until the new grant is saved: a Source
	// refreshing meanwhile would otherwise save its token, carrying the old
	// refresh token, over the new grant. Taken before the grant code is
	// spent, so that a lock that cannot be had costs no code.
	unlock, err := store.Lock(ctx, commandTimeout)
	if err != nil {
		return c.failErr(err)
	}
	defer unlock()
	tok, err := cfg.Exchange(ctx, strings.TrimSpace(*code))
	if err != nil {
		var ze *zohoauth.Error
		if errors.As(err, &ze) && ze.Code == "invalid_code" && o.dc == "" && o.accountsURL == "" {
			err = fmt.Errorf("%w; a code works only in the data center where it was created: this was %s, choose another with -dc", err, dataCenterName(cfg.AccountsURL))
		}
		return c.failErr(err)
	}
	_, prevErr := store.Load(ctx)
	if err := store.Save(ctx, tok); err != nil {
		return c.fail(exitFailure, fmt.Errorf("%w; the grant code is used up, so generate a new one once the file can be written", err))
	}
	note := ""
	if prevErr == nil {
		note = " (it replaces the token stored there before; that refresh token stays valid at Zoho until revoked)"
	}
	c.say("Saved the token to %s%s.", store.Path(), note)
	describe(c.stdout, tok, time.Now())
	return exitOK
}

func runRefresh(c *cli, args []string) int {
	fs := c.flagSet("[flags]", `
Refresh mints a new access token with the stored refresh token and saves it,
taking the token file's lock so that it never races another process using
the same file. It is made for cron: it prints nothing on success unless -v
is given, and its exit status tells a refresh token that no longer works
(2: a person must create a new grant code) from a temporary failure (3).

Each run mints a token; Zoho allows 10 per refresh token in 10 minutes.`)
	var o options
	o.addSourceFlags(fs, "report the new expiry on stdout and log the refresh on stderr")
	if _, status, done := c.parse(fs, args, 0); done {
		return status
	}
	return o.withSource(c, func(ctx context.Context, src *zohoauth.Source) int {
		tok, err := src.Refresh(ctx)
		if err != nil {
			return c.failErr(err)
		}
		if o.verbose {
			c.say("Refreshed: the access token expires %s, in %s.", when(tok.Expiry), time.Until(tok.Expiry).Round(time.Second))
		}
		return exitOK
	})
}

func runToken(c *cli, args []string) int {
	fs := c.flagSet("[flags]", `
Token prints a valid access token and nothing else, for scripts:

  curl -H "Authorization: Zoho-oauthtoken $(zohoauth token)" \
    https://www.zohoapis.eu/crm/v8/Leads

The token printed is valid for at least another minute: a stored token
closer to its expiry is refreshed first, under the token file's lock, and
the new one is saved for the next caller.`)
	var o options
	o.addSourceFlags(fs, "log refreshes on stderr")
	if _, status, done := c.parse(fs, args, 0); done {
		return status
	}
	return o.withSource(c, func(ctx context.Context, src *zohoauth.Source) int {
		tok, err := src.Token(ctx)
		if err == nil && time.Until(tok.Expiry) < tokenMinLeft {
			// Too close to its expiry for a script: treat it as unusable.
			// The next Token call refreshes under the file's lock, or
			// adopts the token a run started at the same moment just
			// saved. (Refresh would always mint: one call per run.)
			src.Reject(tok)
			tok, err = src.Token(ctx)
			if err == nil && time.Until(tok.Expiry) < tokenMinLeft {
				tok, err = src.Refresh(ctx) // what was adopted is short too
			}
		}
		if err != nil {
			return c.failErr(err)
		}
		if !isTokenText(tok.AccessToken) {
			return c.fail(exitFailure, errors.New("the access token holds characters no Zoho token has, so it is not printed; "+
				"the token file may be damaged: run \"zohoauth login\" (or \"zohoauth exchange\") again"))
		}
		fmt.Fprintln(c.stdout, tok.AccessToken)
		return exitOK
	})
}

func runStatus(c *cli, args []string) int {
	fs := c.flagSet("[flags]", `
Status shows the stored token: its data center, api_domain, scopes, when the
access token expires and how long it has left. It makes no network call and
never shows a token.`)
	var o options
	o.addTokenFile(fs)
	if _, status, done := c.parse(fs, args, 0); done {
		return status
	}
	store, err := o.store()
	if err != nil {
		return c.fail(exitFailure, err)
	}
	tok, err := store.Load(context.Background())
	if err != nil {
		return c.failErr(err)
	}
	c.say("%-14s %s", "token file:", store.Path())
	describe(c.stdout, tok, time.Now())
	describeLogin(c.stdout, tok)
	return exitOK
}

func runAPI(c *cli, args []string) int {
	fs := c.flagSet("METHOD PATH|URL [-data JSON] [-H 'Name: value']... [flags]", `
Api sends one request with the stored access token in its Authorization
header, and copies the response body to stdout. A path goes to the token's
api_domain (CRM, Books, ...); a full URL may name any Zoho API host of the
token's data center (Desk, Mail, Projects, ...):

  zohoauth api GET '/crm/v8/Leads?fields=Last_Name'
  zohoauth api POST /crm/v8/Leads -data '{"data":[{"Last_Name":"Ng"}]}'
  zohoauth api GET https://desk.zoho.eu/api/v1/tickets -H 'orgId: 123'
  zohoauth api GET '/books/v3/invoices?organization_id=123'

An expired token is refreshed first; a token the API rejects (401
INVALID_TOKEN, or the product's own code) is refreshed once and the request
replayed. A response status outside 2xx gives exit status 4, the body still
on stdout.`)
	var o options
	data := fs.String("data", "", "the request body, JSON (sent with Content-Type: application/json)")
	var headers headerFlags
	fs.Var(&headers, "H", "a request header, \"Name: value\", such as \"orgId: 123\" for Desk (repeatable)")
	o.addSourceFlags(fs, "log refreshes on stderr")
	rest, status, done := c.parse(fs, args, 2)
	if done {
		return status
	}
	if len(rest) != 2 {
		return c.fail(exitFailure, errors.New("give METHOD and PATH or URL, for example: zohoauth api GET '/crm/v8/Leads?fields=Last_Name'"))
	}
	method, target := strings.ToUpper(rest[0]), rest[1]
	if !isMethod(method) {
		// Not quoted: a misplaced secret must not be echoed.
		return c.fail(exitFailure, errors.New("METHOD must be an HTTP method such as GET, POST, PUT, PATCH or DELETE"))
	}
	if *data != "" && !json.Valid([]byte(*data)) {
		return c.fail(exitFailure, errors.New("-data is not valid JSON"))
	}
	return o.withSource(c, func(ctx context.Context, src *zohoauth.Source) int {
		tok, err := src.Token(ctx)
		if err != nil {
			return c.failErr(err)
		}
		u, err := requestURL(target, tok)
		if err != nil {
			return c.fail(exitFailure, err)
		}
		tr := &zohoauth.Transport{Source: src, Base: c.base()}
		if !tr.Authorizes(u, tok) {
			return c.fail(exitFailure, fmt.Errorf("%s is not a Zoho API host of the token's data center (%s), so the token would not be sent; "+
				"give a path for the token's api_domain, or a URL on the API host of a Zoho product of that data center",
				u.Host, dataCenterName(tok.AccountsServer)))
		}
		var body io.Reader
		if *data != "" {
			body = strings.NewReader(*data)
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
		if err != nil {
			return c.fail(exitFailure, fmt.Errorf("%s %s: %v", method, target, err))
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		headers.apply(req)
		return c.send(&http.Client{Transport: tr}, req, target)
	})
}

// send makes api's request and copies the answer to stdout.
func (c *cli) send(client *http.Client, req *http.Request, target string) int {
	method := req.Method
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL
		}
		return c.failErr(fmt.Errorf("%s %s: %w", method, target, err))
	}
	defer resp.Body.Close()
	out := c.stdout
	if isTerminal(out) {
		// The body is copied as it is to a file or a pipe, whose reader
		// expects Zoho's bytes; a terminal gets control characters escaped.
		tw := &terminalWriter{w: out}
		defer tw.Flush()
		out = tw
	}
	code, err := copyBody(out, resp.Body)
	if err != nil {
		return c.failErr(fmt.Errorf("%s %s: reading the response: %w", method, target, err))
	}
	if resp.StatusCode/100 != 2 {
		if code != "" {
			code = " (" + code + ")"
		}
		return c.fail(exitHTTP, fmt.Errorf("%s %s: Zoho answered HTTP %s%s", method, target, resp.Status, code))
	}
	return exitOK
}

func runRevoke(c *cli, args []string) int {
	fs := c.flagSet("[flags]", `
Revoke revokes the stored refresh token at Zoho, which also ends every access
token minted from it, and then deletes the token file. If Zoho does not
confirm, the file is left in place.`)
	var o options
	o.addTokenFile(fs)
	o.addServer(fs, "default: the stored token's")
	if _, status, done := c.parse(fs, args, 0); done {
		return status
	}
	store, err := o.store()
	if err != nil {
		return c.fail(exitFailure, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	if _, err := store.Load(ctx); err != nil {
		return c.failErr(err)
	}
	unlock, err := store.Lock(ctx, time.Minute)
	if err != nil {
		return c.failErr(err)
	}
	defer unlock()
	tok, err := store.Load(ctx) // again: another process may have saved a newer one
	if err != nil {
		return c.failErr(err)
	}
	if tok.RefreshToken == "" {
		return c.fail(exitFailure, fmt.Errorf("the token in %s has no refresh token to revoke; delete the file if it is no longer needed", store.Path()))
	}
	accounts, err := o.accounts(tok)
	if err != nil {
		return c.fail(exitFailure, err)
	}
	cfg := &zohoauth.Config{AccountsURL: accounts, HTTPClient: &http.Client{Transport: c.base(), Timeout: 30 * time.Second}}
	if err := cfg.Revoke(ctx, tok.RefreshToken); err != nil {
		return c.failErr(fmt.Errorf("%w; the token file was left in place", err))
	}
	if err := store.Delete(ctx); err != nil {
		return c.fail(exitFailure, fmt.Errorf("the refresh token is revoked, but %w", err))
	}
	c.say("Revoked the refresh token at %s and deleted %s.", accounts, store.Path())
	return exitOK
}

func runDemoCommand(c *cli, args []string) int {
	fs := c.flagSet("", `
Demo runs the whole life of a token against a fake Zoho inside this process,
with no network and no credentials: a grant code exchange, an API call,
expiry and an automatic refresh, a token the API rejects, 100 concurrent
requests on an expired token, and a restart that reuses the stored token.
Each step prints one line with the number of token calls so far. It takes a
few seconds, and exits 0 only if every step behaved as described.`)
	if _, status, done := c.parse(fs, args, 0); done {
		return status
	}
	if !runDemo(c.stdout, demoHooks{}) {
		return exitFailure
	}
	return exitOK
}

// withSource loads the stored token, builds the client configuration and a
// Source over the token file, and runs fn with them.
func (o *options) withSource(c *cli, fn func(context.Context, *zohoauth.Source) int) int {
	store, err := o.store()
	if err != nil {
		return c.fail(exitFailure, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	tok, err := store.Load(ctx)
	if err != nil {
		return c.failErr(err)
	}
	cfg, err := o.config(c, tok)
	if err != nil {
		return c.fail(exitFailure, err)
	}
	src := o.source(c, cfg, store, tok)
	defer src.Close()
	return fn(ctx, src)
}

// copyBody copies an API response to w, ending it with a newline so that
// the shell prompt does not stick to it, and returns Zoho's error code
// from the body, if it has one.
func copyBody(w io.Writer, r io.Reader) (code string, err error) {
	var rec bodyRecorder
	if _, err := io.Copy(w, io.TeeReader(r, &rec)); err != nil {
		return "", err
	}
	if rec.n > 0 && rec.last != '\n' {
		if _, err := io.WriteString(w, "\n"); err != nil {
			return "", err
		}
	}
	var e struct {
		Code json.RawMessage `json:"code"`
		Data []struct {
			Code json.RawMessage `json:"code"`
		} `json:"data"`
	}
	if json.Unmarshal(rec.head, &e) == nil {
		if len(e.Code) == 0 && len(e.Data) > 0 {
			e.Code = e.Data[0].Code
		}
		var s string
		if json.Unmarshal(e.Code, &s) == nil {
			code = s
		}
	}
	return short(code), nil
}

// bodyRecorder keeps the head of a response body and its last byte.
type bodyRecorder struct {
	head []byte
	last byte
	n    int64
}

const maxHead = 64 << 10

func (b *bodyRecorder) Write(p []byte) (int, error) {
	if room := maxHead - len(b.head); room > 0 {
		b.head = append(b.head, p[:min(room, len(p))]...)
	}
	if len(p) > 0 {
		b.last = p[len(p)-1]
	}
	b.n += int64(len(p))
	return len(p), nil
}

// isTokenText reports whether s is made of the visible ASCII characters a
// token consists of.
func isTokenText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}

// isMethod reports whether s looks like an HTTP method: a short run of
// letters, as every method Zoho's APIs take is.
func isMethod(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
