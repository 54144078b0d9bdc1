package zohoauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-retryablehttp"
)

// The client of Zoho's token endpoint: one form POST with bounded retries,
// and the reading of its answer, which is an error unless it carries an
// access token, whatever its HTTP status.

// maxBody caps how much of a token endpoint response is read.
const maxBody = 1 << 20

// Retry policy for one token call: attempts = 1 + tokenRetries.
const (
	tokenRetries      = 2
	tokenRetryWaitMin = 200 * time.Millisecond
	tokenRetryWaitMax = 2 * time.Second
)

// tokenResponse is what the token endpoint may send, successes and
// failures alike.
type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	APIDomain    string          `json:"api_domain"`
	TokenType    string          `json:"token_type"`
	Scope        string          `json:"scope"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	ExpiresInSec json.RawMessage `json:"expires_in_sec"`
	Error        json.RawMessage `json:"error"`
	ErrorDesc    json.RawMessage `json:"error_description"`
}

// tokenCall posts form to the token endpoint and turns the answer into a
// token or an *Error. prev, for refreshes, supplies the values Zoho leaves
// out. gate, when set, is asked before every attempt.
func (c *Config) tokenCall(ctx context.Context, op, base string, form url.Values, prev *Token, gate callGate) (*Token, error) {
	start := time.Now()
	a, err := c.post(ctx, base+"/oauth/v2/token", form, gate)
	if err != nil {
		return nil, transportError(op, a.status, err, form)
	}
	tok, err := parseTokenResponse(op, a.status, a.body, form, start)
	if err != nil {
		var ze *Error
		if errors.As(err, &ze) {
			ze.RetryAfter = a.retryAfter // carried into the Source's next try
		}
		return nil, err
	}
	settle(tok, base, prev)
	return tok.sealed(), nil
}

// settle completes a token the endpoint at base answered with: the
// accounts server it came from, and, for a refresh, the values Zoho leaves
// out (refresh token, api_domain, scope) from prev. An api_domain off Zoho's
// API hosts is not kept: its host would receive the access token. The
// previous value stands instead, or the data center's own.
func settle(tok *Token, base string, prev *Token) {
	if tok.APIDomain != "" && !validAPIDomain(tok.APIDomain) {
		tok.APIDomain = ""
	}
	if prev != nil {
		if tok.RefreshToken == "" {
			tok.RefreshToken = prev.RefreshToken
		}
		if tok.APIDomain == "" {
			tok.APIDomain = prev.APIDomain
		}
		if tok.Scope == "" {
			tok.Scope = prev.Scope
		}
	}
	if tok.APIDomain == "" {
		if d, err := dataCenterForAccountsURL(base); err == nil {
			tok.APIDomain = d.dc.APIDomain
		}
	}
	tok.AccountsServer = base
}

var errBudget = errors.New("held back: this refresh token already used its 10 token requests of the last 10 minutes")

// callGate is a Source's limit on token calls, asked before every attempt
// with the time it will be sent (a retry's, after its wait). Each yes uses
// one of the 10 calls Zoho allows per 10 minutes, whatever the answer turns
// out to be: an attempt that ends in a 5xx or a reset may still have minted
// a token.
type callGate interface {
	allowCall(ctx context.Context, at time.Time, retry bool) bool
}

// answer is what the token endpoint said to one call.
type answer struct {
	status int
	body   []byte // at most maxBody bytes
	// retryAfter is the wait a Retry-After header or Zoho's
	// details.retry_after asked for, 0 if none.
	retryAfter time.Duration
}

// post sends one form POST with bounded retries and returns the last answer.
func (c *Config) post(ctx context.Context, endpoint string, form url.Values, gate callGate) (answer, error) {
	if gate != nil && !gate.allowCall(ctx, time.Now(), false) {
		return answer{}, errBudget
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, endpoint, []byte(form.Encode()))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.retryClient(gate).Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	a.body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return a, fmt.Errorf("reading the response: %w", err)
	}
	if len(a.body) > maxBody {
		return answer{status: a.status}, errors.New("response is larger than 1 MiB")
	}
	if wait, ok := retryAfterHeader(resp.Header.Get("Retry-After")); ok {
		a.retryAfter = wait
	}
	if wait, ok := retryAfterBody(a.body); ok && wait > a.retryAfter {
		a.retryAfter = wait
	}
	a.retryAfter = min(a.retryAfter, maxRetryAfter)
	return a, nil
}

// maxRetryAfter bounds a wait the token endpoint asks for: Zoho's throttle
// window. A longer one is a mistake or hostile, and would stop refreshes for
// good.
const maxRetryAfter = zohoMintWindow

// retryClient makes the attempts of one token call over c's HTTP client,
// which never follows a redirect: a client secret must not be forwarded to
// another host.
func (c *Config) retryClient(gate callGate) *retryablehttp.Client {
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &retryablehttp.Client{
		HTTPClient:   &noRedirect,
		RetryWaitMin: tokenRetryWaitMin,
		RetryWaitMax: tokenRetryWaitMax,
		RetryMax:     tokenRetries,
		Backoff:      retryablehttp.DefaultBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		CheckRetry:   tokenRetryPolicy(gate),
	}
}

// tokenRetryPolicy retries network errors and 5xx, never an answer (Zoho's
// errors come with HTTP 200 or 4xx), and only while gate allows each retry.
func tokenRetryPolicy(gate callGate) retryablehttp.CheckRetry {
	attempts := 0
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		attempts++
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if resp != nil && resp.StatusCode < 500 {
			return false, nil
		}
		retry, _ := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
		if !retry || attempts > tokenRetries {
			return retry, nil
		}
		// The wait before the retry, as retryablehttp will take it: a
		// 503's Retry-After of any length, else 200 ms, 400 ms. A longer
		// wait than tokenRetryWaitMax ends the call instead; the Source's
		// backoff spaces the next one.
		wait := retryablehttp.DefaultBackoff(tokenRetryWaitMin, tokenRetryWaitMax, attempts-1, resp)
		if wait > tokenRetryWaitMax {
			return false, nil
		}
		// The retry's slot counts from when it will be sent.
		return gate == nil || gate.allowCall(ctx, time.Now().Add(wait), true), nil
	}
}

// transportError wraps a failure to get a response. Error texts from
// net/http can quote the request URL; ours carry no secret, but the text is
// scrubbed of the form's values anyway.
func transportError(op string, status int, err error, form url.Values) error {
	class := ClassTransient
	if errors.Is(err, errBudget) {
		class = ClassThrottled
	}
	// Context errors are kept as they are, for errors.Is.
	ctxErr := errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	if msg := sanitize(err.Error(), form); !ctxErr && msg != err.Error() {
		err = errors.New(msg)
	}
	return &Error{Op: op, StatusCode: status, Class: class, Err: err}
}

// parseTokenResponse turns a token endpoint answer into a token. It is a
// success only with HTTP 2xx and a non-empty access_token.
func parseTokenResponse(op string, status int, body []byte, form url.Values, start time.Time) (*Token, error) {
	var r tokenResponse
	trimmed := bytes.TrimSpace(body)
	var decodeErr error
	if len(trimmed) > 0 {
		decodeErr = json.Unmarshal(trimmed, &r)
	}
	if len(trimmed) == 0 || decodeErr != nil {
		class := ClassTransient
		if status/100 == 4 {
			class = classify("", "", status)
		}
		what := "an empty body"
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(decodeErr, &typeErr) && typeErr.Field != "":
			// Field is one of tokenResponse's names, not outside text.
			what = fmt.Sprintf("a JSON object whose %q is not a %s", typeErr.Field, typeErr.Type)
		case len(trimmed) > 0:
			what = "a body that is not a JSON object"
		}
		return nil, &Error{Op: op, StatusCode: status, Class: class, Err: fmt.Errorf("token endpoint answered with %s", what)}
	}
	code, desc := jsonText(r.Error), jsonText(r.ErrorDesc)
	if code != "" || status/100 != 2 || r.AccessToken == "" {
		e := &Error{
			Op: op, StatusCode: status,
			Code:        sanitize(code, form, r.AccessToken, r.RefreshToken),
			Description: sanitize(desc, form, r.AccessToken, r.RefreshToken),
			Class:       classify(code, desc, status),
		}
		if code == "" {
			e.Err = errors.New("token endpoint answered without an access_token")
		}
		return nil, e
	}
	return &Token{
		AccessToken:  r.AccessToken,
		RefreshToken: r.RefreshToken,
		TokenType:    r.TokenType,
		APIDomain:    strings.TrimSuffix(r.APIDomain, "/"),
		Scope:        r.Scope,
		Expiry:       start.Add(lifetime(r.ExpiresIn, r.ExpiresInSec)), // sealed by tokenCall: wall clock only
	}, nil
}

// Lifetime bounds. Zoho's access tokens live one hour; a value outside
// [minLifetime, maxLifetime] is not believed and the hour is assumed
// instead: a zero or a wrong unit would make a client refresh in a loop or
// keep a dead token for days. The floor is 2 s: Zoho never sends less than
// an hour, a shorter token could not make a round trip to an API reliably,
// and 2 s is still short enough for fakes that let tests watch tokens
// expire. If a token the hour was assumed for dies early, the API's 401
// says so and the Transport recovers.
const (
	defaultLifetime = time.Hour
	minLifetime     = 2 * time.Second
	maxLifetime     = 24 * time.Hour
)

// lifetime reads expires_in_sec (seconds; wins when present) or expires_in,
// which older responses give in milliseconds next to expires_in_sec.
func lifetime(expiresIn, expiresInSec json.RawMessage) time.Duration {
	if secs, ok := jsonNumber(expiresInSec); ok {
		return clampLifetime(secs)
	}
	secs, ok := jsonNumber(expiresIn)
	if !ok {
		return defaultLifetime
	}
	if secs > maxLifetime.Seconds() && secs/1000 <= maxLifetime.Seconds() {
		secs /= 1000 // milliseconds without expires_in_sec
	}
	return clampLifetime(secs)
}

func clampLifetime(secs float64) time.Duration {
	if secs < minLifetime.Seconds() || secs > maxLifetime.Seconds() {
		return defaultLifetime
	}
	return time.Duration(secs * float64(time.Second))
}

// jsonNumber accepts a JSON number or a string holding one.
func jsonNumber(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(strings.TrimSpace(s))
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != f { // NaN
		return 0, false
	}
	return f, true
}

// jsonText reads a JSON string, or renders any other JSON value as text, so
// an odd error shape is still reported as an error.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// zohoSecret matches the shape of Zoho's access tokens, refresh tokens and
// grant codes (1000.<hex>.<hex>). Outside text may quote one that the
// request did not send, so sanitize cannot know its value.
var zohoSecret = regexp.MustCompile(`[0-9]{4}\.[0-9A-Fa-f]{16,}\.[0-9A-Fa-f]{16,}`)

// sanitize makes outside text safe for an error message: the request's own
// secret values and any further secrets given are replaced, control
// characters dropped, length capped.
func sanitize(s string, form url.Values, also ...string) string {
	for _, k := range []string{"client_secret", "refresh_token", "code", "token"} {
		if v := form.Get(k); len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "REDACTED")
		}
	}
	for _, v := range also {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "REDACTED")
		}
	}
	s = zohoSecret.ReplaceAllString(s, "REDACTED")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	const maxLen = 300
	if len(s) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
