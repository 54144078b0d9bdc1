package zohotest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/go-zoho/zohoauth/zohotest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var tokenShape = regexp.MustCompile(`^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$`)

// reply is one HTTP answer, read completely.
type reply struct {
	Status int
	Header http.Header
	Raw    string
	JSON   map[string]any // nil when the body is not a JSON object
}

func (r reply) str(key string) string { s, _ := r.JSON[key].(string); return s }

func (r reply) has(key string) bool { _, ok := r.JSON[key]; return ok }

// newServer returns a Server closed at the end of the test and a client
// that reaches it in memory.
func newServer(t *testing.T, opts zohotest.Options) (*zohotest.Server, *http.Client) {
	t.Helper()
	s := zohotest.New(opts)
	t.Cleanup(s.Close)
	return s, &http.Client{Transport: s.Transport()}
}

func do(t *testing.T, c *http.Client, req *http.Request) reply {
	t.Helper()
	r, err := send(c, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	return r
}

// send is do for goroutines other than the test's.
func send(c *http.Client, req *http.Request) (reply, error) {
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	json.Unmarshal(raw, &r.JSON)
	return r, nil
}

// form returns the client credentials plus the given key/value pairs.
func form(kv ...string) url.Values {
	v := url.Values{"client_id": {"test-client-id"}, "client_secret": {"test-client-secret"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// postToken sends v as a form body to the token endpoint of accountsURL.
func postToken(t *testing.T, c *http.Client, accountsURL string, v url.Values) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, accountsURL+"/oauth/v2/token", strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

func exchange(t *testing.T, c *http.Client, dc zohotest.DC, code string) reply {
	t.Helper()
	return postToken(t, c, dc.AccountsURL, form("grant_type", "authorization_code", "code", code))
}

func refresh(t *testing.T, c *http.Client, dc zohotest.DC, rt string) reply {
	t.Helper()
	return postToken(t, c, dc.AccountsURL, form("grant_type", "refresh_token", "refresh_token", rt))
}

// api calls the CRM API with "Zoho-oauthtoken <token>" (no header when
// token is empty); a non-empty body is sent as JSON.
func api(t *testing.T, c *http.Client, method, url, token, body string) reply {
	t.Helper()
	auth := ""
	if token != "" {
		auth = "Zoho-oauthtoken " + token
	}
	return apiAuth(t, c, method, url, auth, body)
}

func apiAuth(t *testing.T, c *http.Client, method, url, auth, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, c, req)
}

// wantTokenError checks a token answer is Zoho's HTTP 200 error shape.
func wantTokenError(t *testing.T, r reply, code string) {
	t.Helper()
	if r.Status != http.StatusOK || r.str("error") != code || r.has("access_token") {
		t.Errorf("got %d %s, want HTTP 200 with error %q and no access_token", r.Status, r.Raw, code)
	}
}

// wantToken checks a token answer carries a well-formed access token.
func wantToken(t *testing.T, r reply) {
	t.Helper()
	if r.Status != http.StatusOK || !tokenShape.MatchString(r.str("access_token")) {
		t.Fatalf("got %d %s, want a token", r.Status, r.Raw)
	}
}

// countingBody is a request body that counts Close calls.
type countingBody struct {
	io.Reader
	closes int
}

func (b *countingBody) Close() error { b.closes++; return nil }

func newCountingBody(s string) *countingBody {
	return &countingBody{Reader: bytes.NewReader([]byte(s))}
}
