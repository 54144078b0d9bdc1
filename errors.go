package zohoauth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors for the conditions callers act on. Test with errors.Is; an
// *Error from the token endpoint matches the one that describes its class.
var (
	// ErrReauthRequired means the grant code, refresh token or client
	// credentials were refused (invalid_code, invalid_client,
	// invalid_client_secret). Retrying cannot help: a person must create a
	// new grant, or fix the client id, secret or data center.
	ErrReauthRequired = errors.New("zohoauth: re-authorization required")
	// ErrThrottled means Zoho refused to mint more tokens for now ("Access
	// Denied", too many requests), or this package held back a call that
	// would have exceeded Zoho's limit of 10 tokens per 10 minutes.
	ErrThrottled = errors.New("zohoauth: token requests throttled")
	// ErrTransient means the token endpoint could not be reached or answered
	// with a server error; a later attempt may succeed.
	ErrTransient = errors.New("zohoauth: token endpoint temporarily unavailable")
	// ErrNoToken means there is no token to use: none was given to the
	// source and its store holds none. Run the grant exchange first.
	ErrNoToken = errors.New("zohoauth: no token stored")
	// ErrStoreDamaged means a store holds something that is not a token
	// this package can read: a damaged file, a newer format, a value out of
	// bounds. The store is left as it is, and a Source does not refresh
	// over it: a person restores it, or replaces it on purpose (Save, or
	// "zohoauth exchange").
	ErrStoreDamaged = errors.New("zohoauth: the stored token is damaged or in a format this version does not know")
)

// damagedError is a store's error for content it cannot read. It matches
// ErrStoreDamaged.
type damagedError struct{ msg string }

func (e *damagedError) Error() string        { return e.msg }
func (e *damagedError) Is(target error) bool { return target == ErrStoreDamaged }

// Class is how a token endpoint failure should be handled.
type Class int

const (
	// ClassUnknown is any other failure: an unknown or localized Zoho error,
	// an unexpected 4xx, or a response that is not a token. Not retried
	// automatically beyond the source's backoff.
	ClassUnknown Class = iota
	// ClassReauth: see ErrReauthRequired.
	ClassReauth
	// ClassThrottled: see ErrThrottled.
	ClassThrottled
	// ClassTransient: see ErrTransient.
	ClassTransient
)

func (c Class) String() string {
	switch c {
	case ClassReauth:
		return "reauth"
	case ClassThrottled:
		return "throttled"
	case ClassTransient:
		return "transient"
	}
	return "unknown"
}

// Error is a failed call to Zoho's token endpoint. It never holds a token,
// client secret or grant code.
type Error struct {
	// Op is the call that failed: "exchange", "refresh", "client_credentials"
	// or "revoke".
	Op string
	// StatusCode is the HTTP status, or 0 if no response arrived.
	StatusCode int
	// Code is Zoho's "error" value, for example "invalid_code". Zoho usually
	// sends it with HTTP 200. Empty when the body had none.
	Code string
	// Description is Zoho's "error_description", if any, cut to a few hundred
	// bytes.
	Description string
	// Class tells reauth, throttled and transient failures apart.
	Class Class
	// RetryAfter is how long Zoho asked to wait before the next try (a
	// Retry-After header, or details.retry_after in the body), or how long
	// this package holds the next try back; 0 when nothing says.
	RetryAfter time.Duration
	// Err is the underlying cause (network error, decode error), if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "zohoauth: %s failed", e.Op)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", quoteShort(e.Code))
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; next try in %v", e.RetryAfter.Round(time.Second))
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	return b.String()
}

func (e *Error) hint() string {
	switch {
	case e.Code == "invalid_code" && e.Op == "refresh":
		return "the refresh token was revoked or evicted; create a new grant and exchange it"
	case e.Code == "invalid_code":
		return "grant codes are single-use and expire within minutes; generate a new one"
	case e.Code == "invalid_client":
		return "check the client id, and that the accounts server is the account's data center"
	case e.Code == "invalid_client_secret":
		return "check the client secret"
	case e.Class == ClassThrottled:
		return "Zoho allows 10 access tokens per refresh token per 10 minutes; wait before retrying"
	}
	return ""
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrReauthRequired), ErrThrottled and ErrTransient
// match an *Error of that class.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrReauthRequired:
		return e.Class == ClassReauth
	case ErrThrottled:
		return e.Class == ClassThrottled
	case ErrTransient:
		return e.Class == ClassTransient
	}
	return false
}

// classify maps Zoho's error value and description to a class. Zoho's texts
// are sometimes localized, so unknown values fall to ClassUnknown rather than
// being guessed at.
func classify(code, desc string, status int) Class {
	switch strings.ToLower(strings.TrimSpace(code)) {
	case "invalid_code", "invalid_client", "invalid_client_secret", "unauthorized_client", "invalid_grant":
		return ClassReauth
	case "access denied", "access_denied", "too_many_requests":
		return ClassThrottled
	}
	d := strings.ToLower(desc)
	if strings.Contains(d, "too many requests") || strings.Contains(d, "throttle") {
		return ClassThrottled
	}
	if status == 429 {
		return ClassThrottled
	}
	if status >= 500 {
		return ClassTransient
	}
	return ClassUnknown
}

// classOf is err's class: an *Error's own, else unknown.
func classOf(err error) Class {
	var ze *Error
	if errors.As(err, &ze) {
		return ze.Class
	}
	return ClassUnknown
}

var errNotAToken = errors.New("zohoauth: refusing to save a token without an access token")
