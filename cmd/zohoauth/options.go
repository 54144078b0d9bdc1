package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-zoho/zohoauth"
)

// commandTimeout bounds a whole command, network calls and lock waits
// included.
const commandTimeout = 2 * time.Minute

// options are the flags shared by the commands; each command registers the
// ones it takes.
type options struct {
	tokenFile    string
	dc           string
	accountsURL  string
	clientID     string
	clientSecret string
	verbose      bool
}

func (o *options) addTokenFile(fs *flag.FlagSet) {
	fs.StringVar(&o.tokenFile, "token-file", "", "the token file (default "+defaultPathForHelp()+")")
}

func (o *options) addServer(fs *flag.FlagSet, what string) {
	fs.StringVar(&o.dc, "dc", "", "the account's data center: "+knownDCs()+" ("+what+")")
	fs.StringVar(&o.accountsURL, "accounts-url", "", "the accounts server's URL, instead of -dc (https; plain http only to loopback test servers)")
}

func (o *options) addClient(fs *flag.FlagSet) {
	fs.StringVar(&o.clientID, "client-id", "", "the client id (default $ZOHO_CLIENT_ID)")
	fs.StringVar(&o.clientSecret, "client-secret", "", "the client secret (default $ZOHO_CLIENT_SECRET; the environment keeps it out of process listings)")
}

// addSourceFlags registers the flags of the commands that use the stored
// token through a Source: refresh, token and api.
func (o *options) addSourceFlags(fs *flag.FlagSet, verbose string) {
	o.addClient(fs)
	o.addTokenFile(fs)
	o.addServer(fs, "default: the stored token's")
	fs.BoolVar(&o.verbose, "v", false, verbose)
}

func knownDCs() string {
	var names []string
	for _, dc := range zohoauth.DataCenters() {
		names = append(names, dc.Location)
	}
	return strings.Join(names, ", ")
}

// store returns the token file store, at -token-file or the default path.
func (o *options) store() (*zohoauth.FileStore, error) {
	path := o.tokenFile
	if path == "" {
		var err error
		if path, err = zohoauth.DefaultTokenPath(); err != nil {
			return nil, fmt.Errorf("%w; name a token file with -token-file", err)
		}
	}
	return zohoauth.NewFileStore(path), nil
}

// accounts picks the accounts server: -dc or -accounts-url if given, else
// the one the stored token came from when it is Zoho's or a loopback test
// server, else US.
func (o *options) accounts(tok *zohoauth.Token) (string, error) {
	switch {
	case o.dc != "" && o.accountsURL != "":
		return "", errors.New("give -dc or -accounts-url, not both")
	case o.dc != "":
		dc, ok := zohoauth.LookupDataCenter(o.dc)
		if !ok {
			// Not echoed: it may be a secret given to the wrong flag.
			return "", fmt.Errorf("unknown data center given with -dc (the value is not shown); use one of %s, or -accounts-url", knownDCs())
		}
		return dc.AccountsURL, nil
	case o.accountsURL != "":
		if err := checkAccountsURL(o.accountsURL); err != nil {
			return "", err
		}
		return strings.TrimSuffix(o.accountsURL, "/"), nil
	case tok != nil && trustedAccountsServer(tok.AccountsServer):
		return tok.AccountsServer, nil
	}
	return zohoauth.US.AccountsURL, nil
}

// config builds the client configuration. The client id and secret come
// from the flags or the environment.
func (o *options) config(c *cli, tok *zohoauth.Token) (*zohoauth.Config, error) {
	accounts, err := o.accounts(tok)
	if err != nil {
		return nil, err
	}
	id, secret := o.clientID, o.clientSecret
	if id == "" {
		id = strings.TrimSpace(c.env("ZOHO_CLIENT_ID"))
	}
	if secret == "" {
		secret = strings.TrimSpace(c.env("ZOHO_CLIENT_SECRET"))
	}
	switch {
	case id == "":
		return nil, errors.New("missing client id: set ZOHO_CLIENT_ID or pass -client-id (the API console shows it under your self client)")
	case secret == "":
		return nil, errors.New("missing client secret: set ZOHO_CLIENT_SECRET or pass -client-secret (the API console shows it under your self client)")
	}
	return &zohoauth.Config{ClientID: id, ClientSecret: secret, AccountsURL: accounts,
		HTTPClient: &http.Client{Transport: c.base(), Timeout: 30 * time.Second}}, nil
}

// source is the refreshing token source over the store. Its refresh window
// is zero: a command exits right after using the token, which would cancel
// a background refresh, so a token is used until it is about to expire and
// then refreshed while the caller waits.
func (o *options) source(c *cli, cfg *zohoauth.Config, store zohoauth.Store, tok *zohoauth.Token) *zohoauth.Source {
	opts := []zohoauth.Option{
		zohoauth.WithToken(tok),
		zohoauth.WithStore(store),
		zohoauth.WithRefreshWindow(0),
	}
	if o.verbose {
		opts = append(opts, zohoauth.WithLogger(o.logger(c.stderr)))
	}
	return zohoauth.NewSource(cfg, opts...)
}

func (o *options) logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// checkAccountsURL checks -accounts-url before the library sees it, so that
// no error quotes the value: it may be a secret given to the wrong flag.
func checkAccountsURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http":
		return errors.New("-accounts-url must be an https URL such as https://accounts.zoho.eu (the value given is not shown)")
	case u.Scheme == "http" && !isLoopbackURL(raw):
		return errors.New("-accounts-url must use https (plain http is allowed only for loopback test servers; the value given is not shown)")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return errors.New("-accounts-url must not carry user info, a query or a fragment (the value given is not shown)")
	}
	return nil
}

// trustedAccountsServer reports whether a stored accounts server may receive
// the client secret: one of Zoho's, or a loopback test server.
func trustedAccountsServer(raw string) bool {
	if raw == "" {
		return false
	}
	if _, err := zohoauth.DataCenterFromRedirect("", raw); err == nil {
		return true
	}
	return isLoopbackURL(raw)
}

func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if strings.EqualFold(u.Hostname(), "localhost") {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// dataCenterName names the data center of an accounts server.
func dataCenterName(accounts string) string {
	if dc, err := zohoauth.DataCenterFromRedirect("", accounts); err == nil {
		return fmt.Sprintf("%s (%s)", dc.Location, accounts)
	}
	if accounts == "" {
		return "unknown"
	}
	return fmt.Sprintf("none of Zoho's: %s (a test server?)", accounts)
}

// describe prints what the token is for and how long it lasts, never its
// secrets.
func describe(w io.Writer, tok *zohoauth.Token, now time.Time) {
	// The values come from the token file or from Zoho: made printable.
	row := func(k, v string) { fmt.Fprintf(w, "%-14s %s\n", k+":", printable(v)) }
	row("data center", dataCenterName(tok.AccountsServer))
	row("api_domain", orNone(tok.APIDomain))
	row("scopes", orNone(tok.Scope))
	left := tok.Expiry.Sub(now).Round(time.Second)
	at := when(tok.Expiry)
	switch {
	case tok.Expiry.IsZero():
		row("access token", "expiry unknown; it is refreshed before its next use")
	case left > 0:
		row("access token", fmt.Sprintf("expires %s, in %s", at, left))
	default:
		row("access token", fmt.Sprintf("expired %s, %s ago; the next \"zohoauth token\" or API call refreshes it", at, -left))
	}
	if tok.RefreshToken != "" {
		row("refresh token", "stored; it renews the access token until it is revoked")
	} else {
		row("refresh token", "none: the access token cannot be renewed; run \"zohoauth login\", or \"zohoauth exchange\" with a new grant code")
	}
}

// when formats a time for people, in local time.
func when(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// short cuts an outside value for a message.
func short(s string) string {
	const max = 32
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
