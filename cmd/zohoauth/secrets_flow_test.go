package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// TestCommandSecretsNeverLeak runs every command, in success and in
// failure, with -v wherever it logs, against the fake Zoho on loopback, and
// checks all it printed: no client secret, grant code, refresh token or
// access token, nor 12 bytes of one, nor anything shaped like a Zoho token,
// except the access token that "token" prints on stdout on purpose. The
// library's own flows are checked by TestSecretsNeverLeak in the root
// package.
func TestCommandSecretsNeverLeak(t *testing.T) {
	const (
		clientID     = "1000.SFCLIENTID77"
		clientSecret = "cs-b7e3f1a9c4d2e6f08a5b"
		wrongSecret  = "cs-WRONG-3c7d9e1f2a4b"
	)
	srv := zohotest.New(zohotest.Options{ClientID: clientID, ClientSecret: clientSecret})
	srv.Start()
	defer srv.Close()
	us, eu := srv.DC("us"), srv.DC("eu")
	file := filepath.Join(t.TempDir(), "token.json")
	secrets := map[string]string{clientSecret: "client secret", wrongSecret: "client secret"}
	learn := func(v, what string) {
		if v != "" {
			secrets[v] = what
		}
	}
	code := func(dc string) string {
		c := srv.NewGrantCode(dc)
		learn(c, "grant code")
		return c
	}
	store := zohoauth.NewFileStore(file)
	learnStored := func() {
		if tok, err := store.Load(context.Background()); err == nil {
			learn(tok.AccessToken, "access token")
			learn(tok.RefreshToken, "refresh token")
		}
	}
	setExpiry := func(d time.Duration) {
		tok, err := store.Load(context.Background())
		if err != nil {
			t.Fatalf("token file: %v", err)
		}
		tok.Expiry = time.Now().Add(d)
		if err := store.Save(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}

	type ran struct {
		args           []string
		status         int
		stdout, stderr string
	}
	var runs []ran
	env := map[string]string{"ZOHO_CLIENT_ID": clientID, "ZOHO_CLIENT_SECRET": clientSecret}
	zoho := func(args ...string) ran {
		var out, errs bytes.Buffer
		status := run(args, &out, &errs, func(k string) string { return env[k] })
		r := ran{args, status, out.String(), errs.String()}
		runs = append(runs, r)
		learnStored()
		return r
	}
	withFile := func(cmd string, args ...string) ran {
		return zoho(append([]string{cmd, "-token-file", file}, args...)...)
	}
	want := func(r ran, status int) {
		t.Helper()
		if r.status != status {
			t.Errorf("%s: status %d, want %d; stderr %q", label(r.args, len(runs)), r.status, status, r.stderr)
		}
	}

	// Exchange: good, used up, other data center, wrong secret (from the
	// environment and from a flag), no code.
	c := code("us")
	want(withFile("exchange", "-accounts-url", us.AccountsURL, "-code", c), exitOK)
	want(withFile("exchange", "-accounts-url", us.AccountsURL, "-code", c), exitReauth)
	want(withFile("exchange", "-accounts-url", us.AccountsURL, "-code", code("eu")), exitReauth)
	want(withFile("exchange", "-accounts-url", eu.AccountsURL, "-code", code("eu"), "-client-secret", wrongSecret), exitReauth)
	env["ZOHO_CLIENT_SECRET"] = wrongSecret
	want(withFile("exchange", "-accounts-url", us.AccountsURL, "-code", code("us")), exitReauth)
	env["ZOHO_CLIENT_SECRET"] = clientSecret
	want(withFile("exchange", "-accounts-url", us.AccountsURL, "-code", " "), exitFailure)
	want(withFile("exchange", "-accounts-url", us.AccountsURL, "-code", code("us")), exitOK)

	// Using the token: status, token, refresh, api; a token the API
	// revoked (401, refresh, replay); a secret where a method belongs.
	want(withFile("status"), exitOK)
	want(withFile("token", "-v"), exitOK)
	want(withFile("refresh", "-v"), exitOK)
	want(withFile("api", "-v", "GET", "/crm/v8/Leads?fields=Last_Name"), exitOK)
	want(withFile("api", "-v", "-data", `{"data":[{"Last_Name":"Secret"}]}`, "POST", "/crm/v8/Leads"), exitOK)
	srv.RevokeAccessToken(secretOf(t, store).AccessToken)
	want(withFile("api", "-v", "GET", "/crm/v8/Leads?fields=Last_Name"), exitOK)
	want(withFile("api", "-v", "GET", "/crm/v8/Nowhere/x/y"), exitHTTP)
	want(withFile("api", clientSecret, "/crm/v8/Leads"), exitFailure)
	want(withFile("api", "GET", "https://evil.example/"+clientSecret), exitFailure)
	setExpiry(-time.Minute)
	want(withFile("token", "-v"), exitOK)

	// The token endpoint misbehaves while the token must be refreshed;
	// its answers quote every secret in play.
	tok := secretOf(t, store)
	echo := tok.RefreshToken + " " + clientSecret + " " + tok.AccessToken + " " + code("us")
	for _, f := range []zohotest.Fault{
		{Status: 503, Body: `{"error":"` + echo + `"}`},
		{Drop: true},
		{Body: "<html>" + echo + "</html>"},
		{Body: `{"error":"invalid_code","error_description":"` + echo + `"}`},
		{Body: `{"error":"Access Denied","error_description":"` + echo + `","status":"failure"}`},
		{Body: `{"error":"` + echo + `"}`},
	} {
		// Each fault is a situation of its own: the ledger beside the file
		// would otherwise hold the next runs back after Zoho's throttle.
		forgetLedger(t, file)
		srv.SetFault(f)
		setExpiry(-time.Minute)
		want(withFile("token", "-v"), exitStatusOf(f))
		if f.Status >= 500 || f.Drop {
			continue // retried with real waits; once is enough
		}
		want(withFile("refresh", "-v"), exitStatusOf(f))
		want(withFile("api", "-v", "GET", "/crm/v8/Leads?fields=Last_Name"), exitStatusOf(f))
	}
	srv.SetFault(zohotest.Fault{})
	forgetLedger(t, file)

	// A damaged or readable token file, a revoked grant, revoke.
	good, _ := os.ReadFile(file)
	for _, bad := range []string{`{"access_token":"` + tok.AccessToken, `{"access_token":"x","expiry":"` + tok.RefreshToken + `"}`} {
		if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		want(withFile("status"), exitFailure)
		want(withFile("token", "-v"), exitFailure)
	}
	if err := os.WriteFile(file, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	want(withFile("token"), exitFailure)
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	srv.RevokeRefreshToken(tok.RefreshToken)
	setExpiry(-time.Minute)
	want(withFile("token", "-v"), exitReauth)
	want(withFile("revoke"), exitFailure) // Zoho no longer knows it: HTTP 400
	want(withFile("exchange", "-accounts-url", us.AccountsURL, "-code", code("us")), exitOK)
	want(withFile("revoke"), exitOK)
	want(withFile("token", "-v"), exitReauth)
	want(zoho("demo"), exitOK)
	want(zoho("-h"), exitOK)

	for _, h := range srv.Stats().AuthHeaders {
		if _, v, ok := strings.Cut(h, " "); ok {
			learn(v, "access token")
		}
	}
	kinds := map[string]int{}
	for _, what := range secrets {
		kinds[what]++
	}
	var bad []string
	for i, r := range runs {
		cmd := label(r.args, i+1)
		for s, what := range secrets {
			if leaks(r.stderr, s) {
				bad = append(bad, cmd+": stderr shows a "+what)
			}
			printsToken := r.args[0] == "token" && what == "access token" && r.stdout == s+"\n"
			if leaks(r.stdout, s) && !printsToken {
				bad = append(bad, cmd+": stdout shows a "+what)
			}
		}
		if m := tokenShape.FindString(r.stderr); m != "" {
			bad = append(bad, cmd+": stderr shows something shaped like a Zoho token")
		}
		if m := tokenShape.FindString(r.stdout); m != "" && r.args[0] != "token" {
			bad = append(bad, cmd+": stdout shows something shaped like a Zoho token")
		}
	}
	sort.Strings(bad)
	for i, b := range bad {
		if i == 0 || b != bad[i-1] {
			t.Error(b)
		}
	}
	t.Logf("%d runs of the command checked against %d secrets (%v)", len(runs), len(secrets), kinds)
}

// label names a run without its arguments, which may hold secrets.
func label(args []string, n int) string {
	return fmt.Sprintf("run %d, zohoauth %s", n, args[0])
}

// tokenShape matches Zoho's access tokens, refresh tokens and grant codes.
var tokenShape = regexp.MustCompile(`[0-9]{4}\.[0-9A-Fa-f]{16,}\.[0-9A-Fa-f]{16,}`)

func secretOf(t *testing.T, store *zohoauth.FileStore) *zohoauth.Token {
	t.Helper()
	tok, err := store.Load(context.Background())
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	return tok
}

// exitStatusOf is the status a command that must refresh gets under f.
func exitStatusOf(f zohotest.Fault) int {
	switch {
	case f.Status >= 500, f.Drop, strings.HasPrefix(f.Body, "<html>"), strings.Contains(f.Body, "Access Denied"):
		return exitTransient
	case strings.Contains(f.Body, "invalid_code"):
		return exitReauth
	}
	return exitFailure
}
