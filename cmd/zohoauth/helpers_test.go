package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Client credentials the fake accepts. The secret must never be printed.
const (
	testClientID     = "1000.TESTCLIENTID42"
	testClientSecret = "cs-9d8c7b6a5f4e3d2c1b0a"
)

// fixture is a fake Zoho on loopback, a token file path, the environment
// the command sees, and every secret that has come into play. At the end
// of the test it checks that no output of the command held a secret.
type fixture struct {
	// transport, when set, carries the command's requests (the fake in
	// memory, on Zoho's real host names); else they go over loopback.
	transport http.RoundTripper
	t         *testing.T
	srv       *zohotest.Server
	eu        zohotest.DC
	file      string
	env       map[string]string

	mu      sync.Mutex
	secrets map[string]string // secret value: what it is
	outputs []output
}

// output is what one run printed.
type output struct {
	args           []string
	stdout, stderr string
	printsToken    bool // stdout is a token on purpose ("token")
}

func newFixture(t *testing.T, opts zohotest.Options) *fixture {
	t.Helper()
	opts.ClientID, opts.ClientSecret = testClientID, testClientSecret
	srv := zohotest.New(opts)
	srv.Start()
	t.Cleanup(srv.Close)
	f := &fixture{
		t:       t,
		srv:     srv,
		eu:      srv.DC("eu"),
		file:    filepath.Join(t.TempDir(), "token.json"),
		env:     map[string]string{"ZOHO_CLIENT_ID": testClientID, "ZOHO_CLIENT_SECRET": testClientSecret},
		secrets: map[string]string{testClientSecret: "client secret"},
	}
	t.Cleanup(f.checkNoSecrets)
	return f
}

// code returns a new EU grant code and remembers it as a secret.
func (f *fixture) code(scopes ...string) string {
	c := f.srv.NewGrantCode("eu", scopes...)
	f.addSecret(c, "grant code")
	return c
}

func (f *fixture) addSecret(s, what string) {
	if s == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[s] = what
}

// leaks reports whether out holds a secret or any secretWindow bytes of
// one, so that a printed part of a token counts too.
func leaks(out, secret string) bool {
	if len(secret) <= secretWindow {
		return strings.Contains(out, secret)
	}
	for i := 0; i+secretWindow <= len(secret); i++ {
		if strings.Contains(out, secret[i:i+secretWindow]) {
			return true
		}
	}
	return false
}

const secretWindow = 12

// run runs the command in process with the fixture's environment.
func (f *fixture) run(args ...string) (status int, stdout, stderr string) {
	var out, errs bytes.Buffer
	status = runWith(f.transport, args, &out, &errs, func(k string) string { return f.env[k] })
	f.record(args, out.String(), errs.String())
	return status, out.String(), errs.String()
}

// record keeps an output for the secret check and learns the secrets now in
// play: the stored tokens and every token the API has seen.
func (f *fixture) record(args []string, stdout, stderr string) {
	f.mu.Lock()
	f.outputs = append(f.outputs, output{args: args, stdout: stdout, stderr: stderr, printsToken: len(args) > 0 && args[0] == "token"})
	f.mu.Unlock()
	f.learnSecrets()
}

func (f *fixture) learnSecrets() {
	if tok, err := zohoauth.NewFileStore(f.file).Load(context.Background()); err == nil {
		f.addSecret(tok.AccessToken, accessToken)
		f.addSecret(tok.RefreshToken, "refresh token")
	}
	for _, h := range f.srv.Stats().AuthHeaders {
		_, tok, _ := strings.Cut(h, " ")
		f.addSecret(tok, accessToken)
	}
}

const accessToken = "access token"

// checkNoSecrets fails the test if any output held a secret, except an
// access token on the stdout of "token", which prints one.
func (f *fixture) checkNoSecrets() {
	f.learnSecrets()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.outputs) == 0 {
		return
	}
	for _, o := range f.outputs {
		for s, what := range f.secrets {
			if leaks(o.stderr, s) {
				f.t.Errorf("zohoauth %s: stderr holds a %s: %q", strings.Join(o.args, " "), what, o.stderr)
			}
			if !(o.printsToken && what == accessToken) && leaks(o.stdout, s) {
				f.t.Errorf("zohoauth %s: stdout holds a %s: %q", strings.Join(o.args, " "), what, o.stdout)
			}
		}
	}
}

// zoho runs a command that uses the token file, with -token-file set.
func (f *fixture) zoho(cmd string, args ...string) (int, string, string) {
	return f.run(append([]string{cmd, "-token-file", f.file}, args...)...)
}

// exchange stores a token for a new EU grant code and fails the test if
// that does not work.
func (f *fixture) exchange(scopes ...string) *zohoauth.Token {
	f.t.Helper()
	status, _, stderr := f.zoho("exchange", "-accounts-url", f.eu.AccountsURL, "-code", f.code(scopes...))
	if status != exitOK {
		f.t.Fatalf("exchange: status %d, stderr %q", status, stderr)
	}
	return f.stored()
}

// stored reads the token file.
func (f *fixture) stored() *zohoauth.Token {
	f.t.Helper()
	tok, err := zohoauth.NewFileStore(f.file).Load(context.Background())
	if err != nil {
		f.t.Fatalf("reading the token file: %v", err)
	}
	return tok
}

// setExpiry rewrites the stored token with another expiry.
func (f *fixture) setExpiry(expiry time.Time) {
	f.t.Helper()
	tok := *f.stored()
	tok.Expiry = expiry
	if err := zohoauth.NewFileStore(f.file).Save(context.Background(), &tok); err != nil {
		f.t.Fatal(err)
	}
}

// calls returns the fake's token endpoint calls of one grant type.
func (f *fixture) calls(grantType string) int { return f.srv.Stats().TokenCalls[grantType] }

// wantStatus checks an exit status, and for a failure that stderr is one
// line holding want and that stdout is empty.
func wantStatus(t *testing.T, what string, status, want int, stdout, stderr, wantInStderr string) {
	t.Helper()
	if status != want {
		t.Errorf("%s: status %d, want %d (stdout %q, stderr %q)", what, status, want, stdout, stderr)
		return
	}
	if want == exitOK || want == exitHTTP {
		return
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("%s: stderr is not one line: %q", what, stderr)
	}
	if !strings.Contains(stderr, wantInStderr) {
		t.Errorf("%s: stderr %q does not say %q", what, stderr, wantInStderr)
	}
	if stdout != "" {
		t.Errorf("%s: stdout %q, want nothing", what, stdout)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// forgetLedger removes the ledger beside a token file: the call budget and
// backoff that earlier runs left, for a test case that stands on its own.
func forgetLedger(t *testing.T, tokenFile string) {
	t.Helper()
	if err := os.Remove(tokenFile + ".ledger"); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}
