package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

func TestLifecycle(t *testing.T) {
	f := newFixture(t, zohotest.Options{})

	status, stdout, stderr := f.zoho("exchange", "-accounts-url", f.eu.AccountsURL, "-code", f.code())
	wantStatus(t, "exchange", status, exitOK, stdout, stderr, "")
	for _, want := range []string{"Saved the token to " + f.file + ".", "api_domain:    " + f.eu.APIDomain, "scopes:        ZohoCRM.modules.ALL", "in 1h0m0s", "refresh token: stored"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("exchange output lacks %q:\n%s", want, stdout)
		}
	}
	if stderr != "" {
		t.Errorf("exchange stderr: %q", stderr)
	}
	fi, err := os.Stat(f.file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v", fi, err)
	}
	first := f.stored()
	if first.AccountsServer != f.eu.AccountsURL || first.RefreshToken == "" {
		t.Fatalf("stored token: %v", first)
	}

	status, stdout, stderr = f.zoho("status")
	wantStatus(t, "status", status, exitOK, stdout, stderr, "")
	for _, want := range []string{"token file:    " + f.file, "data center:   none of Zoho's: " + f.eu.AccountsURL, "api_domain:    " + f.eu.APIDomain, "scopes:        ZohoCRM.modules.ALL", "access token:  expires ", ", in ", "refresh token: stored"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status output lacks %q:\n%s", want, stdout)
		}
	}

	status, stdout, stderr = f.zoho("token")
	wantStatus(t, "token", status, exitOK, stdout, stderr, "")
	if stdout != first.AccessToken+"\n" || stderr != "" {
		t.Errorf("token printed %q (stderr %q), want the stored access token", stdout, stderr)
	}

	status, stdout, stderr = f.zoho("api", "GET", "/crm/v8/Leads?fields=Last_Name")
	wantStatus(t, "api GET", status, exitOK, stdout, stderr, "")
	if stdout != "" || stderr != "" { // no records: Zoho answers 204 with no body
		t.Errorf("api GET: stdout %q stderr %q", stdout, stderr)
	}
	if got := f.srv.Stats().AuthHeaders; got[len(got)-1] != "Zoho-oauthtoken "+first.AccessToken {
		t.Error("api GET did not send the stored token in a Zoho-oauthtoken header")
	}
	if f.calls("refresh_token") != 0 {
		t.Errorf("a fresh token was refreshed %d times", f.calls("refresh_token"))
	}

	status, stdout, stderr = f.zoho("refresh")
	wantStatus(t, "refresh", status, exitOK, stdout, stderr, "")
	if stdout != "" || stderr != "" {
		t.Errorf("refresh without -v printed %q / %q", stdout, stderr)
	}
	second := f.stored()
	if f.calls("refresh_token") != 1 || second.AccessToken == first.AccessToken || second.RefreshToken != first.RefreshToken || second.APIDomain != first.APIDomain {
		t.Errorf("after refresh: %d refresh calls; stored %v", f.calls("refresh_token"), second)
	}

	status, stdout, stderr = f.zoho("refresh", "-v")
	wantStatus(t, "refresh -v", status, exitOK, stdout, stderr, "")
	if !strings.HasPrefix(stdout, "Refreshed: the access token expires ") || !strings.Contains(stderr, "refresh succeeded") {
		t.Errorf("refresh -v: stdout %q, stderr %q", stdout, stderr)
	}
	if f.calls("refresh_token") != 2 {
		t.Errorf("refresh calls %d, want 2", f.calls("refresh_token"))
	}

	status, stdout, stderr = f.zoho("revoke")
	wantStatus(t, "revoke", status, exitOK, stdout, stderr, "")
	if stdout != "Revoked the refresh token at "+f.eu.AccountsURL+" and deleted "+f.file+".\n" {
		t.Errorf("revoke printed %q", stdout)
	}
	if _, err := os.Stat(f.file); !os.IsNotExist(err) {
		t.Errorf("token file after revoke: %v", err)
	}
	if f.calls("revoke") != 1 {
		t.Errorf("revoke calls %d, want 1", f.calls("revoke"))
	}
	cfg := &zohoauth.Config{ClientID: testClientID, ClientSecret: testClientSecret, AccountsURL: f.eu.AccountsURL}
	if _, err := cfg.Refresh(context.Background(), second); !errorsIsReauth(err) {
		t.Errorf("the revoked refresh token still works: %v", err)
	}

	status, stdout, stderr = f.zoho("token")
	wantStatus(t, "token after revoke", status, exitReauth, stdout, stderr, "zohoauth exchange")
}

func errorsIsReauth(err error) bool { return exitStatus(err) == exitReauth }

func TestTokenRefreshesOnlyWhenNeeded(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	f.exchange()

	cases := []struct {
		name      string
		expiresIn time.Duration
		refreshed bool
	}{
		{"fresh", 30 * time.Minute, false},
		{"less than a minute left", 30 * time.Second, true},
		{"expired", -time.Hour, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.setExpiry(time.Now().Add(tc.expiresIn))
			old := f.stored()
			before := f.calls("refresh_token")
			status, stdout, stderr := f.zoho("token")
			wantStatus(t, "token", status, exitOK, stdout, stderr, "")
			now := f.stored()
			if got := f.calls("refresh_token") - before; got != map[bool]int{false: 0, true: 1}[tc.refreshed] {
				t.Errorf("%d refresh calls", got)
			}
			if tc.refreshed == (now.AccessToken == old.AccessToken) {
				t.Errorf("stored token replaced: %v, want %v", now.AccessToken != old.AccessToken, tc.refreshed)
			}
			if stdout != now.AccessToken+"\n" {
				t.Error("token did not print the stored access token")
			}
			if time.Until(now.Expiry) < tokenMinLeft {
				t.Errorf("printed a token with %s left", time.Until(now.Expiry))
			}
		})
	}
}

// Scripts started together on a token in its last minute share one
// refresh: each run takes the token file's lock and adopts the token the
// first one saved.
func TestConcurrentTokenRunsShareOneRefresh(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	f.exchange()
	f.setExpiry(time.Now().Add(30 * time.Second))
	before := f.calls("refresh_token")
	const runs = 8
	printed := make([]string, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, stdout, stderr := f.zoho("token")
			wantStatus(t, "token", status, exitOK, stdout, stderr, "")
			printed[i] = stdout
		}()
	}
	wg.Wait()
	if got := f.calls("refresh_token") - before; got != 1 {
		t.Errorf("%d concurrent token runs made %d refresh calls, want 1", runs, got)
	}
	want := f.stored().AccessToken + "\n"
	for i, p := range printed {
		if p != want {
			t.Errorf("run %d printed a token other than the stored one", i)
		}
	}
}

func TestAPI(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	f.exchange("ZohoCRM.modules.leads.ALL")

	// Flags after the positional arguments, a path without its slash.
	status, stdout, stderr := f.zoho("api", "post", "crm/v8/Leads", "--data", `{"data":[{"Last_Name":"Ng"}]}`)
	wantStatus(t, "api POST", status, exitOK, stdout, stderr, "")
	var created struct {
		Data []struct {
			Code    string `json:"code"`
			Details struct {
				ID string `json:"id"`
			} `json:"details"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(stdout), &created); err != nil || len(created.Data) != 1 || created.Data[0].Code != "SUCCESS" || created.Data[0].Details.ID == "" {
		t.Errorf("api POST printed %q (%v)", stdout, err)
	}
	if !strings.HasSuffix(stdout, "}\n") {
		t.Errorf("api output does not end with a newline: %q", stdout)
	}

	// A token Zoho revoked: one refresh, the request replayed.
	f.srv.RevokeAccessToken(f.stored().AccessToken)
	status, stdout, stderr = f.zoho("api", "GET", "/crm/v8/Leads?fields=Last_Name")
	wantStatus(t, "api GET with a revoked token", status, exitOK, stdout, stderr, "")
	if !strings.Contains(stdout, `"Last_Name":"Ng"`) || f.calls("refresh_token") != 1 {
		t.Errorf("api after revocation: %q, %d refresh calls", stdout, f.calls("refresh_token"))
	}

	for _, tc := range []struct {
		name, method, path, code string
		status                   int
	}{
		{"unknown path", "GET", "/crm/v8/Leads/x/y", "INVALID_URL_PATTERN", http.StatusNotFound},
		{"module outside the scopes", "GET", "/crm/v8/Contacts", "OAUTH_SCOPE_MISMATCH", http.StatusUnauthorized},
		{"method the API refuses", "DELETE", "/crm/v8/Leads", "INVALID_REQUEST_METHOD", http.StatusBadRequest},
	} {
		status, stdout, stderr := f.zoho("api", tc.method, tc.path)
		if status != exitHTTP {
			t.Errorf("%s: status %d, want %d", tc.name, status, exitHTTP)
		}
		if !strings.Contains(stdout, `"code":"`+tc.code+`"`) {
			t.Errorf("%s: stdout %q lacks the error body", tc.name, stdout)
		}
		want := fmt.Sprintf("zohoauth api: %s %s: Zoho answered HTTP %d %s (%s)\n", tc.method, tc.path, tc.status, http.StatusText(tc.status), tc.code)
		if stderr != want {
			t.Errorf("%s: stderr %q, want %q", tc.name, stderr, want)
		}
	}
	if f.calls("refresh_token") != 1 {
		t.Errorf("a scope mismatch or other error caused refreshes: %d", f.calls("refresh_token"))
	}
}

func TestRefreshExitStatuses(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	f.exchange()
	kept := f.stored()

	throttled := `{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`
	for _, tc := range []struct {
		name   string
		fault  zohotest.Fault
		status int
		says   string
	}{
		{"server error", zohotest.Fault{Status: http.StatusServiceUnavailable}, exitTransient, "try again later"},
		{"dropped connection", zohotest.Fault{Drop: true}, exitTransient, "try again later"},
		{"throttled", zohotest.Fault{Body: throttled, Count: 1}, exitTransient, "wait before retrying"},
		{"garbage body", zohotest.Fault{Body: "<html>oops</html>", Count: 1}, exitTransient, "not a JSON object"},
	} {
		forgetLedger(t, f.file) // each case on its own: no earlier case's backoff
		f.srv.SetFault(tc.fault)
		status, stdout, stderr := f.zoho("refresh")
		f.srv.SetFault(zohotest.Fault{})
		wantStatus(t, tc.name, status, tc.status, stdout, stderr, tc.says)
		if !strings.HasPrefix(stderr, "zohoauth refresh: refresh failed") {
			t.Errorf("%s: stderr %q", tc.name, stderr)
		}
		if now := f.stored(); now.AccessToken != kept.AccessToken {
			t.Errorf("%s: the stored token changed", tc.name)
		}
	}

	forgetLedger(t, f.file)
	f.env["ZOHO_CLIENT_SECRET"] = "not-the-secret"
	status, stdout, stderr := f.zoho("refresh")
	wantStatus(t, "wrong client secret", status, exitReauth, stdout, stderr, "check the client secret")
	f.env["ZOHO_CLIENT_SECRET"] = testClientSecret

	status, stdout, stderr = f.zoho("refresh", "-client-secret", "not-the-secret-either")
	wantStatus(t, "wrong -client-secret", status, exitReauth, stdout, stderr, "invalid_client_secret")

	f.srv.RevokeRefreshToken(kept.RefreshToken)
	forgetLedger(t, f.file)
	status, stdout, stderr = f.zoho("refresh")
	wantStatus(t, "revoked refresh token", status, exitReauth, stdout, stderr,
		`zohoauth refresh: refresh failed (HTTP 200): "invalid_code" (the refresh token was revoked or evicted; create a new grant and exchange it)`)

	// -v adds the Source's log lines on stderr; the last line is the error.
	status, stdout, stderr = f.zoho("refresh", "-v")
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if status != exitReauth || stdout != "" || len(lines) < 2 || !strings.Contains(stderr, "level=ERROR") ||
		!strings.HasPrefix(lines[len(lines)-1], "zohoauth refresh: refresh failed") {
		t.Errorf("refresh -v with a revoked refresh token: %d %q %q", status, stdout, stderr)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	used := f.code()
	if status, _, stderr := f.zoho("exchange", "-accounts-url", f.eu.AccountsURL, "-code", used); status != exitOK {
		t.Fatalf("first exchange: %d %s", status, stderr)
	}
	noFile := f.file + ".missing"
	damaged := f.file + ".damaged"
	writeFile(t, damaged, `{"access_token": "1000.abc`, 0o600)
	open := f.file + ".open"
	data, _ := os.ReadFile(f.file)
	writeFile(t, open, string(data), 0o644)
	dir := t.TempDir()

	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		status int
		says   string
	}{
		{"no command", nil, nil, exitFailure, ""},
		{"unknown command", []string{"fetch"}, nil, exitFailure, `unknown command "fetch"`},
		{"unknown flag", []string{"token", "-bogus"}, nil, exitFailure, "flag provided but not defined: -bogus"},
		{"secret in a mistyped flag", []string{"exchange", "---code=" + used}, nil, exitFailure, "bad flag syntax"},
		{"secret as an argument", []string{"exchange", "-accounts-url", f.eu.AccountsURL, used}, nil, exitFailure, "too many arguments"},
		{"unknown data center", []string{"exchange", "-dc", "mars", "-code", f.code()}, nil, exitFailure, "unknown data center given with -dc (the value is not shown); use one of us, eu, in, au, jp, cn, ca, sa, uk"},
		{"data center and URL", []string{"exchange", "-dc", "eu", "-accounts-url", f.eu.AccountsURL, "-code", f.code()}, nil, exitFailure, "give -dc or -accounts-url, not both"},
		{"accounts URL over http", []string{"exchange", "-accounts-url", "http://accounts.example.com", "-code", f.code()}, nil, exitFailure, "must use https"},
		{"missing code", []string{"exchange", "-accounts-url", f.eu.AccountsURL}, nil, exitFailure, "missing -code"},
		{"missing client id", []string{"exchange", "-accounts-url", f.eu.AccountsURL, "-code", f.code()}, map[string]string{"ZOHO_CLIENT_ID": ""}, exitFailure, "missing client id: set ZOHO_CLIENT_ID"},
		{"missing client secret", []string{"exchange", "-accounts-url", f.eu.AccountsURL, "-code", f.code()}, map[string]string{"ZOHO_CLIENT_SECRET": ""}, exitFailure, "missing client secret: set ZOHO_CLIENT_SECRET"},
		{"missing client id for token", []string{"token"}, map[string]string{"ZOHO_CLIENT_ID": ""}, exitFailure, "missing client id"},
		{"wrong client id", []string{"exchange", "-accounts-url", f.eu.AccountsURL, "-code", f.code()}, map[string]string{"ZOHO_CLIENT_ID": "1000.OTHER"}, exitReauth, "check the client id"},
		{"reused grant code", []string{"exchange", "-accounts-url", f.eu.AccountsURL, "-code", used}, nil, exitReauth, "generate a new one"},
		{"code of another data center", []string{"exchange", "-accounts-url", f.srv.DC("us").AccountsURL, "-code", f.code()}, nil, exitReauth, "invalid_code"},
		{"no token stored: token", []string{"token", "-token-file", noFile}, nil, exitReauth, "run `zohoauth exchange`"},
		{"no token stored: refresh", []string{"refresh", "-token-file", noFile}, nil, exitReauth, "does not exist"},
		{"no token stored: status", []string{"status", "-token-file", noFile}, nil, exitReauth, "run `zohoauth exchange`"},
		{"no token stored: api", []string{"api", "GET", "/crm/v8/Leads", "-token-file", noFile}, nil, exitReauth, "run `zohoauth exchange`"},
		{"no token stored: revoke", []string{"revoke", "-token-file", noFile}, nil, exitReauth, "run `zohoauth exchange`"},
		{"damaged token file", []string{"token", "-token-file", damaged}, nil, exitFailure, "is damaged"},
		{"token file others can read", []string{"status", "-token-file", open}, nil, exitFailure, "chmod 600"},
		{"token file is a folder", []string{"api", "GET", "/crm/v8/Leads", "-token-file", dir}, nil, exitFailure, "it is a folder, not a regular file"},
		{"api without a path", []string{"api", "GET"}, nil, exitFailure, "give METHOD and PATH or URL"},
		{"api with a URL off the token's hosts", []string{"api", "GET", "https://www.zohoapis.eu/crm/v8/Leads"}, nil, exitFailure, "is not a Zoho API host of the token's data center"},
		{"api with a bad method", []string{"api", "GE T", "/crm/v8/Leads"}, nil, exitFailure, "METHOD must be an HTTP method"},
		{"api with a secret as the method", []string{"api", used, "/crm/v8/Leads"}, nil, exitFailure, "METHOD must be an HTTP method"},
		{"api with bad JSON", []string{"api", "POST", "/crm/v8/Leads", "-data", "{nope"}, nil, exitFailure, "-data is not valid JSON"},
		{"status with an argument", []string{"status", "now"}, nil, exitFailure, "too many arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				old := f.env[k]
				f.env[k] = v
				defer func() { f.env[k] = old }()
			}
			args := tc.args
			if len(args) > 0 && args[0] != "fetch" && !contains(args, "-token-file") {
				args = append([]string{args[0], "-token-file", f.file}, args[1:]...)
			}
			status, stdout, stderr := f.run(args...)
			if tc.name == "no command" {
				if status != exitFailure || !strings.Contains(stderr, "Usage:") || stdout != "" {
					t.Errorf("no command: %d %q %q", status, stdout, stderr)
				}
				return
			}
			wantStatus(t, tc.name, status, tc.status, stdout, stderr, tc.says)
			if !strings.HasPrefix(stderr, "zohoauth") {
				t.Errorf("stderr does not name the command: %q", stderr)
			}
		})
	}
	if got := f.stored(); got.AccessToken == "" {
		t.Error("the stored token was lost")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestExpiredGrantCode(t *testing.T) {
	f := newFixture(t, zohotest.Options{CodeLifetime: 20 * time.Millisecond})
	code := f.code()
	time.Sleep(50 * time.Millisecond)
	status, stdout, stderr := f.zoho("exchange", "-accounts-url", f.eu.AccountsURL, "-code", code)
	wantStatus(t, "expired code", status, exitReauth, stdout, stderr, "grant codes are single-use and expire within minutes; generate a new one")
	if _, err := os.Stat(f.file); !os.IsNotExist(err) {
		t.Errorf("a failed exchange wrote the token file: %v", err)
	}
}

func TestAccountsServerChoice(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	o := options{}
	url, err := o.accounts(nil)
	if err != nil || url != zohoauth.US.AccountsURL {
		t.Fatalf("default accounts server %q, %v", url, err)
	}
	o.dc = "EU"
	if url, _ := o.accounts(nil); url != zohoauth.EU.AccountsURL {
		t.Errorf("-dc EU gives %q", url)
	}
	o = options{}
	if url, _ := o.accounts(&zohoauth.Token{AccountsServer: "https://accounts.zoho.in"}); url != zohoauth.IN.AccountsURL {
		t.Errorf("stored Zoho accounts server not used: %q", url)
	}
	if url, _ := o.accounts(&zohoauth.Token{AccountsServer: "https://accounts.example.com"}); url != zohoauth.US.AccountsURL {
		t.Errorf("a stored accounts server that is not Zoho's was trusted: %q", url)
	}
	if url, _ := o.accounts(&zohoauth.Token{AccountsServer: f.eu.AccountsURL}); url != f.eu.AccountsURL {
		t.Errorf("a stored loopback accounts server was not used: %q", url)
	}
}

func TestRevokeFailureKeepsTheFile(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	tok := f.exchange()
	f.srv.RevokeRefreshToken(tok.RefreshToken) // Zoho no longer knows it
	status, stdout, stderr := f.zoho("revoke")
	wantStatus(t, "revoke of an unknown token", status, exitFailure, stdout, stderr, "the token file was left in place")
	if !strings.Contains(stderr, "HTTP 400") {
		t.Errorf("stderr %q", stderr)
	}
	if f.stored().RefreshToken != tok.RefreshToken {
		t.Error("the token file changed")
	}
}

func TestHelp(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	for _, cmd := range commands {
		status, stdout, stderr := f.run(cmd.name, "-h")
		if status != exitOK || stderr != "" {
			t.Errorf("%s -h: status %d, stderr %q", cmd.name, status, stderr)
		}
		for _, want := range []string{"Usage: zohoauth " + cmd.name, "Exit status:", "  3  temporary failure"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s -h lacks %q:\n%s", cmd.name, want, stdout)
			}
		}
		if cmd.name != "demo" && !strings.Contains(stdout, "-token-file") {
			t.Errorf("%s -h does not list -token-file", cmd.name)
		}
		if _, again, _ := f.run("help", cmd.name); again != stdout {
			t.Errorf("help %s differs from %s -h", cmd.name, cmd.name)
		}
	}
	for _, args := range [][]string{{"-h"}, {"help"}, {"--help"}} {
		status, stdout, _ := f.run(args...)
		if status != exitOK || !strings.Contains(stdout, "Commands:") || !strings.Contains(stdout, "Exit status:") {
			t.Errorf("%v: %d %q", args, status, stdout)
		}
		for _, cmd := range commands {
			if !strings.Contains(stdout, "  "+cmd.name+" ") {
				t.Errorf("%v does not list %s", args, cmd.name)
			}
		}
	}
}

func TestExitStatusOfErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&zohoauth.Error{Class: zohoauth.ClassReauth}, exitReauth},
		{zohoauth.ErrNoToken, exitReauth},
		{&zohoauth.Error{Class: zohoauth.ClassTransient}, exitTransient},
		{&zohoauth.Error{Class: zohoauth.ClassThrottled}, exitTransient},
		{context.DeadlineExceeded, exitTransient},
		{&zohoauth.Error{Class: zohoauth.ClassUnknown}, exitFailure},
		{os.ErrPermission, exitFailure},
		{&url.Error{Op: "Get", URL: "https://www.zohoapis.eu/", Err: &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}}, exitTransient},
		{&url.Error{Op: "Get", URL: "https://www.zohoapis.eu/", Err: io.ErrUnexpectedEOF}, exitTransient},
		{&url.Error{Op: "Get", URL: "https://www.zohoapis.eu/", Err: &zohoauth.Error{Class: zohoauth.ClassUnknown}}, exitFailure},
		{&url.Error{Op: "Get", URL: "https://www.zohoapis.eu/", Err: &zohoauth.Error{Class: zohoauth.ClassReauth}}, exitReauth},
	} {
		if got := exitStatus(tc.err); got != tc.want {
			t.Errorf("exitStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
