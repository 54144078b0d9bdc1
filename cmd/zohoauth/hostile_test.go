package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// Characters that steer a terminal or hide text: ESC (CSI, OSC), BEL, CR,
// backspace, DEL, the C1 CSI, a right-to-left override and an isolate.
const (
	esc       = "\x1b[2J\x1b]0;owned\a"
	c1        = "\u009b31m"
	bidi      = "\u202e\u2066"
	misc      = "\r\b\x7f"
	hostile   = esc + c1 + bidi + misc
	escapedFn = `\x1b[2J` // how the start of esc must show
)

// checkTerminalSafe fails the test if out holds anything but printable
// characters, spaces and newlines, or bytes that are not UTF-8.
func checkTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: output is not UTF-8: %q", what, out)
	}
	for _, r := range out {
		if r != '\n' && r != ' ' && !unicode.IsPrint(r) {
			t.Errorf("%s: output holds %U, which can steer a terminal: %q", what, r, out)
			return
		}
	}
}

// A token file whose fields hold escape sequences: status shows them
// escaped, token refuses to print such an access token, and api's error
// does not pass them on.
func TestHostileTokenFile(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	tok := &zohoauth.Token{
		AccessToken:    "1000.access" + hostile + ".secret",
		RefreshToken:   "1000.refresh.secret",
		APIDomain:      "https://www.zohoapis.eu/" + hostile,
		Scope:          "ZohoCRM.modules.ALL " + hostile,
		AccountsServer: "https://accounts.zoho.eu" + hostile,
		Expiry:         time.Now().Add(time.Hour),
	}
	if err := zohoauth.NewFileStore(f.file).Save(context.Background(), tok); err != nil {
		t.Fatal(err)
	}

	status, stdout, stderr := f.zoho("status")
	wantStatus(t, "status", status, exitOK, stdout, stderr, "")
	checkTerminalSafe(t, "status stdout", stdout)
	checkTerminalSafe(t, "status stderr", stderr)
	for _, field := range []string{"api_domain:", "scopes:", "data center:"} {
		line := lineWith(stdout, field)
		if !strings.Contains(line, escapedFn) || !strings.Contains(line, `\u202e`) || !strings.Contains(line, `\u009b`) {
			t.Errorf("status: %s line %q does not show the escapes as text", field, line)
		}
	}

	status, stdout, stderr = f.zoho("token")
	wantStatus(t, "token with a hostile access token", status, exitFailure, stdout, stderr, "not printed")
	checkTerminalSafe(t, "token stderr", stderr)

	status, stdout, stderr = f.zoho("api", "GET", "/crm/v8/Leads")
	if status == exitOK {
		t.Errorf("api to a hostile api_domain succeeded: %q", stdout)
	}
	checkTerminalSafe(t, "api stdout", stdout)
	checkTerminalSafe(t, "api stderr", stderr)
}

func lineWith(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// Zoho's answers with escape sequences: a token endpoint error and an API
// error reach stderr escaped.
func TestHostileResponses(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	f.exchange()
	f.setExpiry(time.Now().Add(-time.Minute))
	f.srv.SetFault(zohotest.Fault{Body: `{"error":"invalid_code` + jsonEscaped(hostile) + `","error_description":"` + jsonEscaped(hostile) + `"}`})
	status, stdout, stderr := f.zoho("refresh")
	f.srv.SetFault(zohotest.Fault{})
	if status == exitOK {
		t.Fatalf("refresh with a hostile token endpoint error succeeded")
	}
	checkTerminalSafe(t, "refresh stdout", stdout)
	checkTerminalSafe(t, "refresh stderr", stderr)

	api := hostileAPI(t)
	tok := f.stored()
	tok.APIDomain = api.URL
	tok.Expiry = time.Now().Add(time.Hour)
	if err := zohoauth.NewFileStore(f.file).Save(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	status, stdout, stderr = f.zoho("api", "GET", "/crm/v8/Leads")
	if status != exitHTTP {
		t.Fatalf("api: status %d, want %d (stderr %q)", status, exitHTTP, stderr)
	}
	checkTerminalSafe(t, "api stderr", stderr)
	if !strings.Contains(stderr, escapedFn) {
		t.Errorf("api stderr %q does not show Zoho's code escaped", stderr)
	}
	// To a file or a pipe, the body is Zoho's bytes as they came: that is
	// what a script reading it expects.
	if stdout != hostileBody+"\n" {
		t.Errorf("api stdout to a pipe is %q; want the body unchanged", stdout)
	}
}

// hostileBody is an API error whose code and message hold escape
// sequences, as JSON escapes.
var hostileBody = `{"code":"` + jsonEscaped(esc) + `","message":"` + jsonEscaped(hostile) + `"}`

func hostileAPI(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, hostileBody)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func jsonEscaped(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// Flag values and arguments given by mistake: a secret is not echoed, and
// escape sequences are not passed on.
func TestHostileFlagValues(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	f.exchange()
	const secret = "cs-very-secret-0a1b2c3d"
	grant := f.code()
	f.addSecret(secret, "secret given to the wrong flag")
	for _, tc := range []struct {
		name   string
		args   []string
		says   string
		status int // exitFailure if 0
	}{
		{"secret as -dc", []string{"exchange", "-dc", secret, "-code", grant}, "unknown data center", 0},
		{"escapes as -dc", []string{"exchange", "-dc", hostile, "-code", grant}, "unknown data center", 0},
		{"client secret also as -dc", []string{"exchange", "-client-secret", secret, "-dc", secret, "-code", grant}, "unknown data center", 0},
		{"secret as -accounts-url", []string{"exchange", "-accounts-url", secret, "-code", grant}, "-accounts-url must be an https URL", 0},
		{"secret in an http -accounts-url", []string{"exchange", "-accounts-url", "http://" + secret + ".example", "-code", grant}, "must use https", 0},
		{"secret in an -accounts-url with a query", []string{"exchange", "-accounts-url", "https://accounts.zoho.eu/?s=" + secret, "-code", grant}, "must not carry", 0},
		{"secret as a bool flag's value", []string{"token", "-v=" + secret}, "invalid value for -v", 0},
		{"grant code as a flag name", []string{"token", "-" + grant}, "an unknown flag was given", 0},
		{"escapes as a flag name", []string{"token", "-" + hostile}, "an unknown flag was given", 0},
		{"grant code as the command", []string{grant}, "unknown command (not shown", 0},
		{"escapes as the command", []string{hostile}, "unknown command (not shown", 0},
		{"client secret as -token-file", []string{"status", "-token-file", testClientSecret}, "[redacted] does not exist", exitReauth},
		{"grant code as -token-file", []string{"status", "-token-file", grant}, "[redacted] does not exist", exitReauth},
		{"escapes in the token file path", []string{"status", "-token-file", f.file + hostile}, escapedFn, exitReauth},
		{"escapes in the API path", []string{"api", "GET", "/crm/v8/Leads" + hostile}, escapedFn, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if len(args) > 1 && !contains(args, "-token-file") {
				args = append([]string{args[0], "-token-file", f.file}, args[1:]...)
			}
			status, stdout, stderr := f.run(args...)
			wantStatus(t, tc.name, status, cmp.Or(tc.status, exitFailure), stdout, stderr, tc.says)
			checkTerminalSafe(t, "stderr", stderr)
			for _, s := range []string{secret, grant} {
				if strings.Contains(stderr, s) {
					t.Errorf("stderr %q echoes a secret", stderr)
				}
			}
		})
	}
}

// The escaping writer keeps printable text, newlines and tabs, escapes the
// rest, and handles a character split across writes.
func TestTerminalWriter(t *testing.T) {
	in := "héllo\t→ " + hostile + "\nnext ✓"
	var out bytes.Buffer
	tw := &terminalWriter{w: &out}
	for _, b := range []byte(in) { // one byte at a time: every character split
		if _, err := tw.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Write([]byte{0xe2, 0x86}); err != nil { // an unfinished character
		t.Fatal(err)
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "héllo\t→ " + `\x1b[2J\x1b]0;owned\a\u009b31m\u202e\u2066\r\b\x7f` + "\nnext ✓" + `\xe2\x86`
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}
