package zohoauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets for every parser of outside input. Seeds live in
// testdata/fuzz/<target>/; `go test` runs them, `go test -fuzz` explores.
// Properties common to all: no panic, and no secret in any error.

// Secrets of the fuzzed token calls. Distinctive, so that no fixed message
// text can contain them by chance.
const (
	fuzzClientSecret = "cs-FUZZ-53cr3t-x9q"
	fuzzRefresh      = "1000.fuzzrefresh.7b3e51"
	fuzzCode         = "1000.fuzzgrant.c0de99"
)

var fuzzForm = url.Values{
	"grant_type":    {"refresh_token"},
	"client_id":     {"client-FUZZ"},
	"client_secret": {fuzzClientSecret},
	"refresh_token": {fuzzRefresh},
	"code":          {fuzzCode},
}

// checkErrorText holds an error message to the rules for outside text:
// none of the secrets nor anything shaped like a Zoho token, one line,
// valid UTF-8, the package's prefix.
func checkErrorText(t *testing.T, err error, secrets ...string) {
	t.Helper()
	msg := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Fatalf("error shows secret %q: %s", s, msg)
		}
	}
	if m := zohoSecret.FindString(msg); m != "" {
		t.Fatalf("error shows something shaped like a Zoho token (%q): %s", m, msg)
	}
	if strings.ContainsAny(msg, "\r\n") || !utf8.ValidString(msg) {
		t.Fatalf("error is not one line of valid UTF-8: %q", msg)
	}
	if !strings.HasPrefix(msg, "zohoauth: ") {
		t.Fatalf("error lacks the package prefix: %q", msg)
	}
}

// FuzzTokenResponse feeds the token endpoint's answer (status and body) to
// the parser behind Exchange and Refresh, and to Revoke.
func FuzzTokenResponse(f *testing.F) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		var shape struct {
			AccessToken  any `json:"access_token"`
			RefreshToken any `json:"refresh_token"`
		}
		_ = json.Unmarshal(bytes.TrimSpace(body), &shape)
		bodyAccess, _ := shape.AccessToken.(string)
		bodyRefresh, _ := shape.RefreshToken.(string)
		var typed tokenResponse // every field of the type the parser expects
		wellTyped := json.Unmarshal(bytes.TrimSpace(body), &typed) == nil

		for _, op := range []string{"exchange", "refresh"} {
			tok, err := parseTokenResponse(op, status, body, fuzzForm, start)
			if err != nil {
				var ze *Error
				if !errors.As(err, &ze) || ze.Op != op {
					t.Fatalf("%s: error %v (%T) is not an *Error for the op", op, err, err)
				}
				if status/100 == 2 && bodyAccess != "" && ze.Code == "" && wellTyped {
					t.Fatalf("%s: a 2xx answer with an access token and no error was refused: %v", op, err)
				}
				checkErrorText(t, err, append(outsideSecrets(bodyAccess, bodyRefresh), fuzzClientSecret, fuzzRefresh, fuzzCode)...)
				continue
			}
			if status/100 != 2 || tok.AccessToken == "" || tok.AccessToken != bodyAccess {
				t.Fatalf("%s: HTTP %d answer accepted as token %q", op, status, tok.AccessToken)
			}
			if life := tok.Expiry.Sub(start); life <= 0 || life > maxLifetime {
				t.Fatalf("%s: token lifetime %v is outside (0, %v]", op, life, maxLifetime)
			}
			// What a token prints must not depend on its secrets' values
			// (other fields, like api_domain, may contain the same text).
			other := *tok
			other.AccessToken, other.RefreshToken = "x"+tok.AccessToken, "x"+tok.RefreshToken
			if tok.RefreshToken == "" {
				other.RefreshToken = ""
			}
			if tok.String() != other.String() || tok.GoString() != other.GoString() {
				t.Fatalf("%s: the token prints its secrets", op)
			}
		}

		if status < 100 || status > 999 {
			return
		}
		cfg := &Config{ClientID: "client-FUZZ", ClientSecret: fuzzClientSecret, HTTPClient: &http.Client{
			Transport: answerWith(status, body),
		}}
		if status >= 500 { // retried with real waits; one attempt is enough here
			return
		}
		if err := cfg.Revoke(context.Background(), fuzzRefresh); err != nil {
			checkErrorText(t, err, fuzzRefresh, fuzzClientSecret) // what a revoke knows
		}
	})
}

// outsideSecrets are the tokens a response carried, long enough to be
// told apart from message text.
func outsideSecrets(tokens ...string) []string {
	var out []string
	for _, s := range tokens {
		if len(s) >= 12 && !strings.Contains("REDACTED", s) {
			out = append(out, s)
		}
	}
	return out
}

type fuzzRoundTrip func(*http.Request) (*http.Response, error)

func (f fuzzRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func answerWith(status int, body []byte) http.RoundTripper {
	return fuzzRoundTrip(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
	})
}

// rejectingSource hands out "old" until Reject, then "new".
type rejectingSource struct{ rejected bool }

func (s *rejectingSource) Token(context.Context) (*Token, error) {
	tok := &Token{AccessToken: "1000.fuzz-old.a", APIDomain: "https://www.zohoapis.com", Expiry: time.Now().Add(time.Hour)}
	if s.rejected {
		tok.AccessToken = "1000.fuzz-new.b"
	}
	return tok, nil
}

func (s *rejectingSource) Reject(*Token) { s.rejected = true }

// crmReplays is an oracle, written apart from the product table, of when
// CRM's 401 means a dead token: "code" at the top or in data[0] is one of
// the four codes a refresh fixes, and neither place says the scope is
// missing.
func crmReplays(body []byte) bool {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return false
	}
	var codes []string
	if c, ok := doc["code"].(string); ok {
		codes = append(codes, c)
	}
	if data, ok := doc["data"].([]any); ok && len(data) > 0 {
		if first, ok := data[0].(map[string]any); ok {
			if c, ok := first["code"].(string); ok {
				codes = append(codes, c)
			}
		}
	}
	dead := false
	for _, c := range codes {
		for _, b := range []byte(c) {
			if b >= 0x80 {
				c = "" // compared as ASCII only
			}
		}
		switch strings.ToUpper(c) {
		case "OAUTH_SCOPE_MISMATCH":
			return false
		case "INVALID_TOKEN", "INVALID_OAUTHTOKEN", "AUTHENTICATION_FAILURE", "UNAUTHORIZED":
			dead = true
		}
	}
	return dead
}

// FuzzAPI401 feeds the body of an API 401 to the Transport: it must replay
// exactly when Zoho's code says the token is bad, at most once, and
// otherwise hand the caller the 401 with its body byte for byte.
func FuzzAPI401(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		calls := 0
		base := fuzzRoundTrip(func(r *http.Request) (*http.Response, error) {
			calls++
			if r.Body != nil {
				r.Body.Close()
			}
			if calls == 1 {
				return &http.Response{StatusCode: 401, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("replayed")), Request: r}, nil
		})
		tr := &Transport{Source: &rejectingSource{}, Base: base}
		req, _ := http.NewRequest(http.MethodPost, "https://www.zohoapis.com/crm/v8/Leads", strings.NewReader(`{"data":[]}`))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("RoundTrip: %v", err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if crmReplays(body) {
			if calls != 2 || resp.StatusCode != 200 || string(got) != "replayed" {
				t.Fatalf("%q: %d calls, final %d %q; want one replay", body, calls, resp.StatusCode, got)
			}
			return
		}
		if calls != 1 || resp.StatusCode != 401 || !bytes.Equal(got, body) {
			t.Fatalf("%q: %d calls, final %d, body changed: %v; want the 401 untouched", body, calls, resp.StatusCode, !bytes.Equal(got, body))
		}
	})
}

// FuzzFileStore feeds a token file to FileStore.Load. A damaged file gives
// an error that quotes none of it; a file that loads, written back in
// Save's format, loads as the same token.
func FuzzFileStore(f *testing.F) {
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "token.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
		fs := NewFileStore(path)
		tok, err := fs.Load(context.Background())
		if err != nil {
			if errors.Is(err, ErrNoToken) {
				t.Fatalf("an existing file reported as no token: %v", err)
			}
			msg := strings.ReplaceAll(err.Error(), path, "")
			const window = 16
			for i := 0; i+window <= len(data); i++ {
				if strings.Contains(msg, string(data[i:i+window])) {
					t.Fatalf("error quotes the file (%q): %s", data[i:i+window], msg)
				}
			}
			checkErrorText(t, err)
			return
		}
		if tok.AccessToken == "" {
			t.Fatal("loaded a token without an access token")
		}
		// What Save writes (without its fsyncs, which would slow fuzzing
		// to a crawl).
		saved, err := json.MarshalIndent(tok, "", "  ")
		if err != nil {
			t.Fatalf("encoding a loaded token: %v", err)
		}
		if err := os.WriteFile(path, saved, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := fs.Load(context.Background())
		if err != nil {
			t.Fatalf("Load after Save: %v", err)
		}
		if again.AccessToken != tok.AccessToken || again.RefreshToken != tok.RefreshToken || again.APIDomain != tok.APIDomain ||
			again.Scope != tok.Scope || again.TokenType != tok.TokenType || again.AccountsServer != tok.AccountsServer ||
			!again.Expiry.Equal(tok.Expiry) {
			t.Fatalf("round trip changed the token:\n%#v\n%#v", tok, again)
		}
	})
}

// FuzzRedirect feeds the consent redirect's location and accounts-server
// parameters to DataCenterFromRedirect, and a stored token's accounts
// server to the choice of where a refresh (and the client secret) goes.
func FuzzRedirect(f *testing.F) {
	f.Fuzz(func(t *testing.T, location, accountsServer string) {
		dc, err := DataCenterFromRedirect(location, accountsServer)
		if err != nil {
			checkErrorText(t, err)
		} else {
			known := false
			for _, d := range DataCenters() {
				known = known || d == dc
			}
			if !known {
				t.Fatalf("unknown data center %+v accepted", dc)
			}
			if accountsServer != "" {
				u, perr := url.Parse(accountsServer)
				if perr != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" || !isASCII(u.Hostname()) ||
					accountsHosts[strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")] == nil ||
					accountsHosts[strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")].dc != dc {
					t.Fatalf("accounts server %q accepted as %s", accountsServer, dc.AccountsURL)
				}
			}
			if location != "" {
				if l, ok := LookupDataCenter(location); !ok || l != dc {
					t.Fatalf("location %q accepted for %s", location, dc.Location)
				}
			}
		}

		// A token (say, from a tampered file) names its accounts server:
		// the refresh, with the client secret, goes there only if it is
		// one of Zoho's.
		for _, configured := range []string{"", EU.AccountsURL, "http://127.0.0.1:8080"} {
			cfg := &Config{AccountsURL: configured}
			base, err := cfg.accountsBase(&Token{AccountsServer: accountsServer})
			if err != nil {
				t.Fatalf("configured %q, token's %q: %v", configured, accountsServer, err)
			}
			want := strings.TrimSuffix(configured, "/")
			if want == "" {
				want = US.AccountsURL
			}
			if base != want {
				u, perr := url.Parse(base)
				if perr != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" || u.RawQuery != "" {
					t.Fatalf("refresh goes to %q (from the token's %q)", base, accountsServer)
				}
				if _, ok := accountsHosts[strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")]; !ok || !isASCII(u.Hostname()) {
					t.Fatalf("refresh goes to %q, not a Zoho accounts host", base)
				}
			}
		}
	})
}

// isASCII is the fuzz oracles' own test for a host Go would dial as given.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
