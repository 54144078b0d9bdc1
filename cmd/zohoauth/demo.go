package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// The demo's fake Zoho mints access tokens that live demoLifetime, so the
// steps that wait for an expiry wait that long. The Sources' refresh window
// is well below the lifetime, so a token is fresh for most of its life and
// the steps between expiries run on fresh tokens. The waits go past the
// token's real expiry, which a Source has stopped sending whatever its
// safety margin.
const (
	demoLifetime    = 2 * time.Second
	demoWindow      = 500 * time.Millisecond
	demoExpirySlack = 50 * time.Millisecond
	demoStepTimeout = 20 * time.Second
	demoConcurrency = 100
	demoLastName    = "Lovelace"
)

// demoHooks let tests disturb the demo to see that it notices.
type demoHooks struct {
	// before runs before each step (numbered from 1) with the fake Zoho and
	// the token file's path.
	before func(step int, srv *zohotest.Server, tokenFile string)
}

// demo is the state the steps share.
type demo struct {
	srv       *zohotest.Server
	cfg       *zohoauth.Config
	store     *zohoauth.FileStore
	src       *zohoauth.Source
	client    *http.Client
	apiDomain string
	first     *zohoauth.Token // from the exchange
	calls     int             // token calls at the end of the previous step
}

type demoStep struct {
	name string
	run  func(ctx context.Context) (string, error)
}

// runDemo runs the whole life of a token against a fake Zoho in this
// process, one line per step, and reports whether every step behaved as
// described.
func runDemo(w io.Writer, hooks demoHooks) bool {
	start := time.Now()
	dir, err := os.MkdirTemp("", "zohoauth-demo-")
	if err != nil {
		fmt.Fprintf(w, "FAIL cannot create a temporary folder for the token file: %v\n", err)
		return false
	}
	defer os.RemoveAll(dir)
	srv := zohotest.New(zohotest.Options{AccessTokenLifetime: demoLifetime})
	defer srv.Close()
	d := &demo{
		srv:   srv,
		cfg:   &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret", AccountsURL: zohoauth.EU.AccountsURL, HTTPClient: &http.Client{Transport: srv.Transport()}},
		store: zohoauth.NewFileStore(filepath.Join(dir, "token.json")),
	}
	defer func() {
		if d.src != nil {
			d.src.Close()
		}
	}()
	steps := []demoStep{
		{"exchange", d.exchange},
		{"API call", d.apiCall},
		{"expiry", d.expiry},
		{"rejected token", d.rejected},
		{fmt.Sprintf("%d concurrent requests", demoConcurrency), d.concurrent},
		{"restart", d.restart},
	}
	fmt.Fprintf(w, "zohoauth demo: a fake Zoho (data center eu) in this process, no network, no credentials; access tokens live %s\n", demoLifetime)
	for i, step := range steps {
		if hooks.before != nil {
			hooks.before(i+1, srv, d.store.Path())
		}
		ctx, cancel := context.WithTimeout(context.Background(), demoStepTimeout)
		line, err := step.run(ctx)
		cancel()
		calls := d.tokenCalls()
		if err != nil {
			fmt.Fprintf(w, "FAIL %d/%d %s: %v (token calls: %d, +%d)\n", i+1, len(steps), step.name, err, calls, calls-d.calls)
			return false
		}
		fmt.Fprintf(w, "ok   %d/%d %s: %s (token calls: %d, +%d)\n", i+1, len(steps), step.name, line, calls, calls-d.calls)
		d.calls = calls
	}
	fmt.Fprintf(w, "PASS every step behaved as described (%s)\n", time.Since(start).Round(100*time.Millisecond))
	return true
}

// tokenCalls counts the fake's token endpoint calls of every grant type.
func (d *demo) tokenCalls() int {
	n := 0
	for _, c := range d.srv.Stats().TokenCalls {
		n += c
	}
	return n
}

// wantCalls checks how many token calls the current step made.
func (d *demo) wantCalls(want int) error {
	if got := d.tokenCalls() - d.calls; got != want {
		return fmt.Errorf("expected %d token call(s) in this step, the fake saw %d", want, got)
	}
	return nil
}

// send makes one API request with client and returns the status and body.
func (d *demo) send(ctx context.Context, client *http.Client, method, path, body string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.apiDomain+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// get lists the Leads with d's client and wants the status want: 200, or
// 204 while there are none (Zoho answers an empty list with no body).
func (d *demo) get(ctx context.Context, client *http.Client, want int) error {
	status, body, err := d.send(ctx, client, http.MethodGet, "/crm/v8/Leads?fields=Last_Name", "")
	if err != nil {
		return fmt.Errorf("GET /crm/v8/Leads failed: %v", err)
	}
	if status != want {
		return fmt.Errorf("GET /crm/v8/Leads answered %d, want %d: %.200s", status, want, body)
	}
	return nil
}

// lastAuth is the Authorization header of the fake's latest API request.
func (d *demo) lastAuth() string {
	h := d.srv.Stats().AuthHeaders
	if len(h) == 0 {
		return ""
	}
	return h[len(h)-1]
}

func auth(tok *zohoauth.Token) string { return "Zoho-oauthtoken " + tok.AccessToken }

func (d *demo) exchange(ctx context.Context) (string, error) {
	code := d.srv.NewGrantCode("eu", zohotest.DefaultScope)
	tok, err := d.cfg.Exchange(ctx, code)
	if err != nil {
		return "", err
	}
	if tok.RefreshToken == "" || tok.APIDomain != zohoauth.EU.APIDomain {
		return "", fmt.Errorf("the token has no refresh token or api_domain %q, want %q", tok.APIDomain, zohoauth.EU.APIDomain)
	}
	if err := d.store.Save(ctx, tok); err != nil {
		return "", err
	}
	fi, err := os.Stat(d.store.Path())
	if err != nil {
		return "", err
	}
	d.first, d.apiDomain = tok, tok.APIDomain
	d.src = zohoauth.NewSource(d.cfg, zohoauth.WithToken(tok), zohoauth.WithStore(d.store), zohoauth.WithRefreshWindow(demoWindow))
	d.client = &http.Client{Transport: &zohoauth.Transport{Source: d.src, Base: d.srv.Transport()}}
	if err := d.wantCalls(1); err != nil {
		return "", err
	}
	return fmt.Sprintf("a grant code became an access token (expires in %s) and a refresh token, saved to a %04o token file",
		time.Until(tok.Expiry).Round(time.Second), fi.Mode().Perm()), nil
}

func (d *demo) apiCall(ctx context.Context) (string, error) {
	if err := d.get(ctx, d.client, http.StatusNoContent); err != nil {
		return "", err
	}
	if d.lastAuth() != auth(d.first) {
		return "", errors.New("the request did not carry the access token from the exchange")
	}
	if err := d.wantCalls(0); err != nil {
		return "", err
	}
	return "GET /crm/v8/Leads got 204 (no records yet) with the exchanged access token", nil
}

// waitPastExpiry sleeps until tok has expired and says how long it slept.
func waitPastExpiry(ctx context.Context, tok *zohoauth.Token) (time.Duration, error) {
	start := time.Now()
	select {
	case <-time.After(time.Until(tok.Expiry) + demoExpirySlack):
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (d *demo) expiry(ctx context.Context) (string, error) {
	slept, err := waitPastExpiry(ctx, d.first)
	if err != nil {
		return "", err
	}
	if err := d.wantCalls(0); err != nil {
		return "", fmt.Errorf("before the expiry: %w", err)
	}
	if err := d.get(ctx, d.client, http.StatusNoContent); err != nil {
		return "", err
	}
	if err := d.wantCalls(1); err != nil {
		return "", err
	}
	stored, err := d.store.Load(ctx)
	if err != nil {
		return "", err
	}
	if d.lastAuth() != auth(stored) || stored.AccessToken == d.first.AccessToken || stored.RefreshToken != d.first.RefreshToken {
		return "", errors.New("the request after the refresh did not carry the new, stored access token")
	}
	return fmt.Sprintf("%.1fs later the access token had expired; the next GET waited for one refresh, got 204, and the new token was saved",
		slept.Seconds()), nil
}

func (d *demo) rejected(ctx context.Context) (string, error) {
	tok, err := d.src.Token(ctx)
	if err != nil {
		return "", err
	}
	d.srv.RevokeAccessToken(tok.AccessToken)
	before := d.srv.Stats()
	status, body, err := d.send(ctx, d.client, http.MethodPost, "/crm/v8/Leads", `{"data":[{"Last_Name":"`+demoLastName+`"}]}`)
	if err != nil {
		return "", fmt.Errorf("POST /crm/v8/Leads failed: %v", err)
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("POST /crm/v8/Leads answered %d, want 201 after one refresh: %.200s", status, body)
	}
	var created struct {
		Data []struct {
			Details struct {
				ID string `json:"id"`
			} `json:"details"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &created) != nil || len(created.Data) != 1 || created.Data[0].Details.ID == "" {
		return "", fmt.Errorf("the replayed POST created no record: %.200s", body)
	}
	after := d.srv.Stats()
	if after.Unauthorized-before.Unauthorized != 1 || after.APICalls-before.APICalls != 2 {
		return "", fmt.Errorf("expected one 401 and one replay, the fake saw %d API calls with %d 401s",
			after.APICalls-before.APICalls, after.Unauthorized-before.Unauthorized)
	}
	if err := d.wantCalls(1); err != nil {
		return "", err
	}
	status, body, err = d.send(ctx, d.client, http.MethodGet, "/crm/v8/Leads?fields=Last_Name", "")
	if err != nil || status != http.StatusOK {
		return "", fmt.Errorf("listing the records failed: %d %v", status, err)
	}
	if n := strings.Count(string(body), `"Last_Name":"`+demoLastName+`"`); n != 1 {
		return "", fmt.Errorf("the record was created %d times, want once", n)
	}
	return fmt.Sprintf("Zoho revoked the access token; POST /crm/v8/Leads got 401, one refresh, the POST was replayed: 201, record %s created once",
		demoLastName), nil
}

func (d *demo) concurrent(ctx context.Context) (string, error) {
	tok, err := d.src.Token(ctx)
	if err != nil {
		return "", err
	}
	if _, err := waitPastExpiry(ctx, tok); err != nil {
		return "", err
	}
	if err := d.wantCalls(0); err != nil {
		return "", fmt.Errorf("before the expiry: %w", err)
	}
	before := len(d.srv.Stats().AuthHeaders)
	errs := make([]error, demoConcurrency)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			errs[i] = d.get(ctx, d.client, http.StatusOK)
		}()
	}
	close(gate)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("not every request succeeded: %v", strings.SplitN(err.Error(), "\n", 2)[0])
	}
	if err := d.wantCalls(1); err != nil {
		return "", err
	}
	seen := map[string]bool{}
	for _, h := range d.srv.Stats().AuthHeaders[before:] {
		seen[h] = true
	}
	if len(seen) != 1 || seen[auth(tok)] {
		return "", fmt.Errorf("the %d requests carried %d different tokens, want one new token", demoConcurrency, len(seen))
	}
	return fmt.Sprintf("%d GETs on an expired access token shared one refresh, all got 200", demoConcurrency), nil
}

func (d *demo) restart(ctx context.Context) (string, error) {
	d.src.Close()
	stored, err := d.store.Load(ctx)
	if err != nil {
		return "", fmt.Errorf("the token file cannot be read: %v", err)
	}
	src := zohoauth.NewSource(d.cfg, zohoauth.WithStore(zohoauth.NewFileStore(d.store.Path())), zohoauth.WithRefreshWindow(demoWindow))
	defer src.Close()
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: d.srv.Transport()}}
	if err := d.get(ctx, client, http.StatusOK); err != nil {
		return "", err
	}
	if d.lastAuth() != auth(stored) {
		return "", errors.New("the new Source did not send the stored access token")
	}
	if err := d.wantCalls(0); err != nil {
		return "", err
	}
	return "a new Source over the same token file reused the stored access token: GET 200, no token call", nil
}
