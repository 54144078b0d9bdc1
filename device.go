package zohoauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Zoho's device authorization grant ("Non-browser applications"): the way a
// command line gets its first token. The program asks for a user code,
// shows it with the verification page's address, and polls until the user
// has entered the code and approved the scopes in a browser, on any device.

// Device flow errors. Test with errors.Is; both also match
// ErrReauthRequired, since only a new login can help.
var (
	// ErrDeviceAccessDenied means the user pressed Deny on the
	// verification page.
	ErrDeviceAccessDenied = errors.New("zohoauth: the user denied access on the verification page")
	// ErrDeviceCodeExpired means the user did not approve the code before
	// it expired (Zoho's user codes live 5 minutes).
	ErrDeviceCodeExpired = errors.New("zohoauth: the user code expired before it was approved")
	// ErrUnknownDataCenter means Zoho sent polling to a data center this
	// package does not know (other_dc with an unknown user_location). Its
	// accounts server is not known to be Zoho's, so the client secret is
	// not sent there.
	ErrUnknownDataCenter = errors.New("zohoauth: unknown data center")
)

// Polling limits. Zoho answers slow_down to two polls within 30 seconds.
const (
	// devicePollFloor is the shortest wait between two polls of a Zoho
	// accounts server, whatever the server announced.
	devicePollFloor = 30 * time.Second
	// loopbackPollFloor is the shortest wait between two polls of a loopback
	// server (a fake in tests), which may announce a shorter interval.
	loopbackPollFloor = 10 * time.Millisecond
	// slowDownStep is added to the wait after each slow_down (RFC 8628).
	slowDownStep = 5 * time.Second
	// maxPollInterval caps the wait, however often slow_down comes.
	maxPollInterval = 5 * time.Minute
	// defaultDeviceLifetime is Zoho's documented user code lifetime, used
	// when the answer has no usable expires_in.
	defaultDeviceLifetime = 5 * time.Minute
	// maxDeviceLifetime bounds the whole wait, whatever the server says.
	maxDeviceLifetime = 30 * time.Minute
	// maxPollFailures is how many polls in a row may fail to get an answer
	// (network errors, 5xx) before the wait gives up.
	maxPollFailures = 3
	// maxDCHops bounds how often other_dc may move the polling.
	maxDCHops = 2
)

// DeviceAuthResponse is a started device login: what to show the user, and
// what DeviceAccessToken needs to wait for the approval.
//
// Printing it with any fmt verb or log/slog never shows the device code.
type DeviceAuthResponse struct {
	// DeviceCode identifies the login when polling. It is a secret: with
	// the client credentials it collects the user's tokens.
	DeviceCode string
	// UserCode is what the user types on the verification page.
	UserCode string
	// VerificationURL is the page where the user enters UserCode. It is
	// an https URL (plain http only from a loopback test server).
	VerificationURL string
	// Expiry is when UserCode stops working.
	Expiry time.Time
	// Interval is the poll interval the server asked for (30 s when it
	// named none). DeviceAccessToken never polls one of Zoho's servers more
	// often than every 30 s, whatever this says.
	Interval time.Duration
	// AccountsServer is where the login was started, and so where polling
	// starts. DeviceAccessToken uses it only when it is one of Zoho's
	// accounts servers or the Config's own.
	AccountsServer string

	// poll is shared by copies of the response, so that two waits on one
	// login never poll at the same time.
	poll *devicePoll
}

type devicePoll struct{ mu sync.Mutex }

// String describes the login without the device code.
func (d DeviceAuthResponse) String() string {
	return fmt.Sprintf("zohoauth.DeviceAuthResponse{DeviceCode:%s UserCode:%q VerificationURL:%q Expiry:%s Interval:%s AccountsServer:%q}",
		redact(d.DeviceCode), d.UserCode, d.VerificationURL, d.Expiry.Format(time.RFC3339), d.Interval, d.AccountsServer)
}

// GoString returns the String form.
func (d DeviceAuthResponse) GoString() string { return d.String() }

// Format makes every fmt verb print the redacted form.
func (d DeviceAuthResponse) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, d.String()) }

// LogValue makes log/slog print the login without the device code.
func (d DeviceAuthResponse) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("device_code", redact(d.DeviceCode)),
		slog.String("user_code", d.UserCode),
		slog.String("verification_url", d.VerificationURL),
		slog.Time("expiry", d.Expiry),
		slog.Duration("interval", d.Interval),
		slog.String("accounts_server", d.AccountsServer),
	)
}

// RequestScopes makes AuthCodeURL or DeviceAuth ask for these scopes
// instead of Config.Scopes.
func RequestScopes(scopes ...string) AuthOption {
	return authOptionFunc(func(v url.Values) { v.Set("scope", strings.Join(scopes, ",")) })
}

const deviceOp = "device login"

// DeviceAuth starts a device login at the configured accounts server (US
// when AccountsURL is empty): Zoho's answer is a user code, to be shown
// with the verification page's address. Then call DeviceAccessToken.
//
// It asks for c.Scopes (or those of RequestScopes) with offline access, so
// that the token comes with a refresh token. Zoho gives a refresh token only
// on a user's first consent unless PromptConsent is passed. The client must
// be of Zoho's "Non-browser Applications" type.
func (c *Config) DeviceAuth(ctx context.Context, opts ...AuthOption) (*DeviceAuthResponse, error) {
	base, err := c.accountsBase(nil)
	if err != nil {
		return nil, &Error{Op: deviceOp, Err: err}
	}
	form, err := c.deviceForm(opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	a, err := c.post(ctx, base+"/oauth/v3/device/code", form, nil)
	if err != nil {
		return nil, transportError(deviceOp, a.status, err, form)
	}
	r, err := readDeviceCode(a, form)
	if err != nil {
		return nil, err
	}
	verify, err := checkVerificationURL(r.VerificationURL, base)
	if err != nil {
		return nil, &Error{Op: deviceOp, StatusCode: a.status, Err: err}
	}
	return &DeviceAuthResponse{
		DeviceCode:      r.DeviceCode,
		UserCode:        r.UserCode,
		VerificationURL: verify,
		Expiry:          start.Add(deviceLifetime(r.ExpiresIn)).Round(0),
		Interval:        announcedInterval(r.Interval),
		AccountsServer:  base,
		poll:            &devicePoll{},
	}, nil
}

// deviceForm is the form of a device code request.
func (c *Config) deviceForm(opts []AuthOption) (url.Values, error) {
	form := url.Values{
		"client_id":   {c.ClientID},
		"grant_type":  {"device_request"},
		"access_type": {"offline"},
	}
	if len(c.Scopes) > 0 {
		form.Set("scope", strings.Join(c.Scopes, ","))
	}
	for _, o := range opts {
		o.applyAuth(form)
	}
	if strings.Trim(form.Get("scope"), ", ") == "" {
		return nil, &Error{Op: deviceOp, Err: errors.New("no scopes to ask for: set Config.Scopes or pass RequestScopes, for example ZohoCRM.modules.ALL")}
	}
	return form, nil
}

// deviceCodeAnswer is the device code endpoint's answer.
type deviceCodeAnswer struct {
	DeviceCode      string          `json:"device_code"`
	UserCode        string          `json:"user_code"`
	VerificationURL string          `json:"verification_url"`
	VerificationURI string          `json:"verification_uri"` // RFC 8628's name
	ExpiresIn       json.RawMessage `json:"expires_in"`
	Interval        json.RawMessage `json:"interval"`
	Error           json.RawMessage `json:"error"`
	ErrorDesc       json.RawMessage `json:"error_description"`
}

// readDeviceCode reads the device code endpoint's answer: an *Error unless
// it carries a device code and a user code that can be shown.
func readDeviceCode(a answer, form url.Values) (deviceCodeAnswer, error) {
	var r deviceCodeAnswer
	trimmed := bytes.TrimSpace(a.body)
	if err := json.Unmarshal(trimmed, &r); err != nil || len(trimmed) == 0 {
		class := ClassUnknown
		if a.status >= 500 {
			class = ClassTransient
		}
		return r, &Error{Op: deviceOp, StatusCode: a.status, Class: class, Err: errors.New("the device code endpoint answered with something other than a JSON object")}
	}
	if code := jsonText(r.Error); code != "" || a.status/100 != 2 || r.DeviceCode == "" {
		desc := jsonText(r.ErrorDesc)
		e := &Error{
			Op: deviceOp, StatusCode: a.status,
			Code:        sanitize(code, form, r.DeviceCode),
			Description: sanitize(desc, form, r.DeviceCode),
			Class:       classify(code, desc, a.status),
		}
		if code == "" {
			e.Err = errors.New("the device code endpoint answered without a device_code")
		}
		return r, e
	}
	if r.VerificationURL == "" {
		r.VerificationURL = r.VerificationURI
	}
	if !printableCode(r.UserCode) {
		return r, &Error{Op: deviceOp, StatusCode: a.status, Err: errors.New("the device code endpoint answered without a usable user_code")}
	}
	return r, nil
}

// printableCode reports whether a user code is short printable text that
// can be shown to a person as it is.
func printableCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r > unicode.MaxASCII {
			return false
		}
	}
	return true
}

// checkVerificationURL accepts the page a person is sent to only if it is a
// plain https address (http only when the accounts server itself is a
// loopback test server), so that no other scheme is ever opened.
func checkVerificationURL(raw, base string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("the device code endpoint answered with a verification_url that %s: %s", why, quoteShort(raw))
	}
	if raw == "" {
		return bad("is empty")
	}
	if len(raw) > 2048 || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return bad("is not a plain address")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return bad("is not an absolute address")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()) && isLoopbackURL(base):
	default:
		return bad("is not https")
	}
	return raw, nil
}

// isLoopbackURL reports whether an accounts base URL names a loopback host.
func isLoopbackURL(base string) bool {
	u, err := url.Parse(base)
	return err == nil && isLoopback(u.Hostname())
}

// deviceLifetime reads expires_in, in seconds or milliseconds: no user code
// lives an hour, so a larger number is taken as milliseconds.
func deviceLifetime(raw json.RawMessage) time.Duration {
	n, ok := jsonNumber(raw)
	if !ok || n <= 0 {
		return defaultDeviceLifetime
	}
	if n > time.Hour.Seconds() {
		n /= 1000
	}
	return min(time.Duration(n*float64(time.Second)), maxDeviceLifetime)
}

// announcedInterval reads interval, in seconds or milliseconds: no server
// asks to wait more than 10 minutes between polls of a code that lives 5,
// so a larger number is taken as milliseconds. Missing means 30 s.
func announcedInterval(raw json.RawMessage) time.Duration {
	n, ok := jsonNumber(raw)
	if !ok || n <= 0 {
		return devicePollFloor
	}
	if n > 600 {
		n /= 1000
	}
	return min(time.Duration(n*float64(time.Second)), maxPollInterval)
}

// pollInterval is the wait before each poll of base: the announced interval,
// never less than 30 s for anything but a loopback server. Only a test
// server on this machine can make polling faster; Zoho's accounts servers,
// and any other host, always get at least 30 s.
func pollInterval(base string, announced time.Duration) time.Duration {
	if announced <= 0 {
		announced = devicePollFloor
	}
	floor := devicePollFloor
	if isLoopbackURL(base) {
		floor = loopbackPollFloor
	}
	return min(max(announced, floor), maxPollInterval)
}

// noRetries lets a poll go out once: a retried poll would be a second poll
// within 30 s, which Zoho answers with slow_down.
type noRetries struct{}

func (noRetries) allowCall(_ context.Context, _ time.Time, retry bool) bool { return !retry }

// DeviceAccessToken waits until the user has approved the login started by
// DeviceAuth, and returns the token: access token, refresh token,
// api_domain, and the accounts server of the user's data center, ready for
// any Store and for NewSource.
//
// It waits before every poll: Zoho's interval, never less than 30 s for
// Zoho's servers (shorter intervals are honoured only from loopback test
// servers), 5 s longer after each slow_down. When the user's account lives
// in another data center (other_dc), polling moves to that data center's
// accounts server, but only to one that LookupDataCenter knows: the client
// secret never goes anywhere else. Each poll is sent once; a poll that gets
// no answer (network error, server error) is repeated at the next interval,
// up to 3 in a row.
//
// It returns an error matching ErrDeviceAccessDenied when the user denies,
// ErrDeviceCodeExpired when the code expires first (both also match
// ErrReauthRequired), ErrUnknownDataCenter for other_dc to an unknown
// location, ctx's error when ctx ends, or an *Error for any other answer.
// One wait per login runs at a time; a second concurrent call fails.
func (c *Config) DeviceAccessToken(ctx context.Context, da *DeviceAuthResponse) (*Token, error) {
	if da == nil || da.DeviceCode == "" {
		return nil, &Error{Op: deviceOp, Err: errors.New("no device code: start the login with DeviceAuth")}
	}
	if da.poll != nil {
		if !da.poll.mu.TryLock() {
			return nil, &Error{Op: deviceOp, Err: errors.New("this login is already being waited for")}
		}
		defer da.poll.mu.Unlock()
	}
	base, err := c.accountsBase(&Token{AccountsServer: da.AccountsServer})
	if err != nil {
		return nil, &Error{Op: deviceOp, Err: err}
	}
	expiry := da.Expiry
	if limit := time.Now().Add(maxDeviceLifetime); expiry.IsZero() || expiry.After(limit) {
		expiry = limit
	}
	form := url.Values{
		"client_id":     {c.ClientID},
		"client_secret": {c.ClientSecret},
		"grant_type":    {"device_token"},
		"code":          {da.DeviceCode},
	}
	p := &pollState{base: base, interval: da.Interval, wait: pollInterval(base, da.Interval)}
	timer := time.NewTimer(p.wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, &Error{Op: deviceOp, Err: ctx.Err()}
		case <-timer.C:
		}
		if !time.Now().Before(expiry) {
			return nil, deviceStop("expired", "", ErrDeviceCodeExpired)
		}
		tok, answer, err := c.devicePoll(ctx, p.base, form)
		if tok != nil {
			return tok, nil
		}
		if err := p.next(ctx, answer, err); err != nil {
			return nil, err
		}
		timer.Reset(p.wait)
	}
}

// pollState is where and how often a device login is polled.
type pollState struct {
	base     string        // the accounts server polled
	interval time.Duration // what Zoho announced
	wait     time.Duration // before the next poll
	failures int           // polls in a row that got no answer
	hops     int           // moves to another data center
}

// next takes in one poll's answer (or error); an error it returns ends the
// wait.
func (p *pollState) next(ctx context.Context, answer pollAnswer, err error) error {
	switch {
	case err != nil && errors.Is(err, ErrTransient) && ctx.Err() == nil:
		if p.failures++; p.failures >= maxPollFailures {
			return err
		}
		return nil
	case err != nil:
		return err
	case answer.code == "slow_down":
		p.wait = min(p.wait+slowDownStep, maxPollInterval)
	case answer.code == "other_dc":
		if err := p.moveTo(answer.location); err != nil {
			return err
		}
	}
	p.failures = 0 // authorization_pending too
	return nil
}

// moveTo follows other_dc to the data center at location, a known one only:
// the client secret goes nowhere else.
func (p *pollState) moveTo(location string) error {
	dc, ok := LookupDataCenter(location)
	next := strings.TrimSuffix(dc.AccountsURL, "/")
	switch {
	case !ok:
		return &Error{Op: deviceOp, Code: "other_dc", Err: fmt.Errorf("%w: Zoho says the account lives in data center %s", ErrUnknownDataCenter, quoteShort(location))}
	case next == p.base || p.hops >= maxDCHops:
		return &Error{Op: deviceOp, Code: "other_dc", Err: fmt.Errorf("zoho keeps moving the login between data centers (now to %s)", dc.Location)}
	}
	p.hops++
	p.base = next
	p.wait = max(p.wait, pollInterval(p.base, p.interval))
	return nil
}

// pollAnswer is a poll's answer that tells the waiter to go on.
type pollAnswer struct {
	code     string // authorization_pending, slow_down or other_dc
	location string // other_dc's user_location
}

// devicePoll sends one poll to base. It returns the token, or an answer to
// go on waiting, or an error that ends the wait.
func (c *Config) devicePoll(ctx context.Context, base string, form url.Values) (*Token, pollAnswer, error) {
	start := time.Now()
	a, err := c.post(ctx, base+"/oauth/v3/device/token", form, noRetries{})
	status, body := a.status, a.body
	if err != nil {
		return nil, pollAnswer{}, transportError(deviceOp, status, err, form)
	}
	var r struct {
		Error        json.RawMessage `json:"error"`
		ErrorDesc    json.RawMessage `json:"error_description"`
		UserLocation json.RawMessage `json:"user_location"`
	}
	_ = json.Unmarshal(bytes.TrimSpace(body), &r) // parseTokenResponse reports a garbled body
	code := strings.ToLower(strings.TrimSpace(jsonText(r.Error)))
	desc := jsonText(r.ErrorDesc)
	switch code {
	case "authorization_pending", "slow_down":
		return nil, pollAnswer{code: code}, nil
	case "other_dc":
		return nil, pollAnswer{code: code, location: jsonText(r.UserLocation)}, nil
	case "expired":
		return nil, pollAnswer{}, deviceStop(code, sanitize(desc, form), ErrDeviceCodeExpired)
	case "access_denied":
		// Zoho's throttle says "Access Denied" too, with a description
		// that says so; parseTokenResponse classifies that one.
		if classify("", desc, status) != ClassThrottled {
			return nil, pollAnswer{}, deviceStop(code, sanitize(desc, form), ErrDeviceAccessDenied)
		}
	}
	tok, err := parseTokenResponse(deviceOp, status, body, form, start)
	if err != nil {
		return nil, pollAnswer{}, err
	}
	settle(tok, base, nil)
	return tok.sealed(), pollAnswer{}, nil
}

// deviceStop is the *Error for a login that ended without a token: it
// matches sentinel and ErrReauthRequired.
func deviceStop(code, desc string, sentinel error) error {
	return &Error{Op: deviceOp, Code: code, Description: desc, Class: ClassReauth, Err: stopReason{sentinel}}
}

// stopReason carries a sentinel without repeating its "zohoauth: " prefix
// in the *Error's text.
type stopReason struct{ sentinel error }

func (s stopReason) Error() string {
	return strings.TrimPrefix(s.sentinel.Error(), "zohoauth: ")
}

func (s stopReason) Is(target error) bool { return target == s.sentinel }
