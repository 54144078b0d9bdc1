package zohoauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// DefaultMaxRetryWait is the longest wait a RetryPolicy accepts from Zoho
// when its MaxWait is zero.
const DefaultMaxRetryWait = time.Minute

// RetryPolicy is a retry policy for Zoho's APIs to plug into a
// go-retryablehttp Client, whose HTTPClient should carry a Transport so that
// every attempt gets a current token:
//
//	rc := retryablehttp.NewClient()
//	rc.HTTPClient = zohoauth.NewClient(src)
//	p := zohoauth.RetryPolicy{}
//	rc.CheckRetry, rc.Backoff = p.CheckRetry, p.Backoff
//
// It retries what retryablehttp.DefaultRetryPolicy retries (connection
// errors, 5xx other than 501, and 429, which Zoho sends with the code
// TOO_MANY_REQUESTS when a credit or concurrency limit is hit), except:
//   - 401 and 403 are never retried. Transport has already replayed the
//     request with a fresh token where that can help; a missing scope or
//     permission (OAUTH_SCOPE_MISMATCH, NO_PERMISSION) does not heal.
//   - When the response says how long to wait (a Retry-After header, or
//     Zoho's details.retry_after in the body, in seconds), the policy waits
//     that long. A wait longer than MaxWait is not shortened: the response
//     is returned to the caller instead, since asking early only meets the
//     same limit again.
//   - Token errors that waiting cannot fix are not retried: a refresh token
//     or client Zoho refused (ErrReauthRequired), a throttled token
//     endpoint (ErrThrottled), no stored token (ErrNoToken), a store that
//     cannot be read (ErrStoreDamaged), a closed source. Transient token
//     endpoint failures are retried.
//
// The zero value is ready to use. A RetryPolicy is safe for concurrent use.
type RetryPolicy struct {
	// MaxWait bounds the wait a response may ask for; zero means
	// DefaultMaxRetryWait.
	MaxWait time.Duration
}

// CheckRetry implements retryablehttp.CheckRetry. A response it looks into
// (429 and 503) keeps its body intact for the caller.
func (p RetryPolicy) CheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil && !retryableTokenError(err) {
		return false, nil
	}
	if resp != nil {
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return false, nil
		}
		// Backoff honours a Retry-After on any status, so the bound is
		// checked on any status too; only 429 and 503 bodies are read.
		readBody := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
		if wait, ok := requestedWait(resp, readBody); ok && wait > p.maxWait() {
			return false, nil
		}
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// Backoff implements retryablehttp.Backoff. It waits as long as the
// response asks (read by CheckRetry from the body, or from the Retry-After
// header), at most MaxWait; otherwise it backs off exponentially from
// waitMin to waitMax like retryablehttp.DefaultBackoff. Used without
// CheckRetry it sees the header only: retryablehttp drains the body before
// it asks for the wait.
func (p RetryPolicy) Backoff(waitMin, waitMax time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if wait, ok := requestedWait(resp, false); ok {
			return min(wait, p.maxWait())
		}
	}
	return retryablehttp.DefaultBackoff(waitMin, waitMax, attempt, nil)
}

func (p RetryPolicy) maxWait() time.Duration {
	if p.MaxWait > 0 {
		return p.MaxWait
	}
	return DefaultMaxRetryWait
}

// retryableTokenError reports whether err, from a request, could go away by
// trying again. Errors from this package's sources say so by their class.
func retryableTokenError(err error) bool {
	var ze *Error
	switch {
	case errors.As(err, &ze):
		return ze.Class == ClassTransient
	case errors.Is(err, ErrNoToken), errors.Is(err, ErrStoreDamaged), errors.Is(err, errClosed), errors.Is(err, errNoSource):
		return false
	}
	return true
}

// waitBody is a response body that CheckRetry looked into, carrying the wait
// it found for Backoff, which runs after retryablehttp drained the body.
type waitBody struct {
	io.ReadCloser
	wait time.Duration
	ok   bool
}

// requestedWait finds how long the response asks the client to wait: the
// longer of the Retry-After header and Zoho's details.retry_after. With
// readBody the body is read once, within peekBody's bounds, and put back
// byte for byte; without it only a body CheckRetry already read is
// consulted.
func requestedWait(resp *http.Response, readBody bool) (time.Duration, bool) {
	if b, ok := resp.Body.(*waitBody); ok {
		return b.wait, b.ok
	}
	wait, ok := retryAfterHeader(resp.Header.Get("Retry-After"))
	if readBody && resp.Body != nil && resp.Body != http.NoBody {
		head, complete := peekBody(resp, maxPeek, peekTimeout)
		b := &waitBody{ReadCloser: resp.Body}
		resp.Body = b
		if complete {
			if w, found := retryAfterBody(head); found && (!ok || w > wait) {
				wait, ok = w, true
			}
		}
		b.wait, b.ok = wait, ok
	}
	return wait, ok
}

// retryAfterHeader reads Retry-After as seconds or an HTTP date.
func retryAfterHeader(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err == nil:
		return secondsWait(float64(secs))
	case errors.Is(err, strconv.ErrRange) && v[0] != '-':
		return time.Duration(math.MaxInt64), true // more seconds than an int64 holds
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// retryAfterBody reads details.retry_after (seconds, a number or a string)
// from a Zoho API error, at the top or in the first element of "data".
func retryAfterBody(body []byte) (time.Duration, bool) {
	type details struct {
		Details struct {
			RetryAfter json.RawMessage `json:"retry_after"`
		} `json:"details"`
	}
	var top struct {
		details
		Data []details `json:"data"`
	}
	if json.Unmarshal(body, &top) != nil {
		return 0, false
	}
	raw := top.Details.RetryAfter
	if len(raw) == 0 && len(top.Data) > 0 {
		raw = top.Data[0].Details.RetryAfter
	}
	secs, ok := jsonNumber(raw)
	if !ok {
		return 0, false
	}
	return secondsWait(secs)
}

// secondsWait turns a count of seconds from outside into a duration. A
// negative count is no answer; one too large to represent means "very long".
func secondsWait(secs float64) (time.Duration, bool) {
	const maxSecs = float64(math.MaxInt64) / float64(time.Second)
	switch {
	case secs < 0:
		return 0, false
	case secs >= maxSecs:
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(secs * float64(time.Second)), true
}
