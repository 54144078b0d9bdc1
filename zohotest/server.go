package zohotest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configures a Server. The zero value gives Zoho's documented
// limits and the default test credentials.
type Options struct {
	// ClientID and ClientSecret are the only client credentials the token
	// endpoint accepts. Defaults: "test-client-id" and "test-client-secret".
	ClientID, ClientSecret string

	// AccessTokenLifetime is how long an access token works. Default 1h.
	AccessTokenLifetime time.Duration
	// CodeLifetime is how long a grant code can be exchanged. Default 3m.
	CodeLifetime time.Duration

	// ThrottleLimit is how many access tokens one refresh token may mint in
	// any ThrottleWindow; the next attempt gets "Access Denied". Default 10;
	// negative disables the throttle.
	ThrottleLimit int
	// ThrottleWindow is the sliding window of ThrottleLimit. Default 10m.
	ThrottleWindow time.Duration

	// MaxLiveTokens is how many unexpired access tokens one refresh token
	// may have; minting one more kills the oldest. Default 15; negative
	// means no limit.
	MaxLiveTokens int

	// Legacy makes token responses use the older shape: expires_in_sec in
	// seconds and expires_in in milliseconds.
	Legacy bool

	// Login configures the device login and the consent page.
	Login LoginOptions
}

func (o Options) withDefaults() Options {
	if o.ClientID == "" {
		o.ClientID = "test-client-id"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "test-client-secret"
	}
	if o.AccessTokenLifetime <= 0 {
		o.AccessTokenLifetime = time.Hour
	}
	if o.CodeLifetime <= 0 {
		o.CodeLifetime = 3 * time.Minute
	}
	if o.ThrottleLimit == 0 {
		o.ThrottleLimit = 10
	}
	if o.ThrottleWindow <= 0 {
		o.ThrottleWindow = 10 * time.Minute
	}
	if o.MaxLiveTokens == 0 {
		o.MaxLiveTokens = 15
	}
	o.Login = o.Login.withDefaults()
	return o
}

// DefaultScope is the scope of codes and tokens created without one.
const DefaultScope = "ZohoCRM.modules.ALL"

// DC names the URLs of one fake data center.
type DC struct {
	Location    string // "us" or "eu"
	AccountsURL string // base URL of the accounts server (token endpoint)
	APIDomain   string // base URL of the API
}

// Stats is what a Server has seen. Stats returns a copy.
type Stats struct {
	// TokenCalls counts token endpoint calls by grant_type
	// ("authorization_code", "refresh_token", "client_credentials", or
	// whatever a client sent), faulted calls included, and revoke calls
	// under "revoke".
	TokenCalls map[string]int
	// ThrottleHits counts refreshes refused with "Access Denied".
	ThrottleHits int
	// LiveTokens is the number of access tokens the API would accept now.
	LiveTokens int
	// APICalls counts requests to the API, whatever their outcome.
	APICalls int
	// AuthHeaders holds the Authorization header of every API request in
	// order, "" for a request without one.
	AuthHeaders []string
	// Unauthorized counts 401 responses from the API.
	Unauthorized int
}

// Fault makes the token endpoint (POST /oauth/v2/token) misbehave. Fields
// combine: Latency delays whatever follows; then Drop wins over Status,
// which wins over Body. A Fault with only Latency delays a normal answer.
type Fault struct {
	// Latency delays the answer. The wait ends early when the request's
	// context is done (the call then fails) or the Server is closed.
	Latency time.Duration
	// Status answers with this HTTP status and Body; without Body, an
	// error status (400 and up) gets a small HTML page, any other status
	// an empty body (Status: 200 alone answers an empty 200).
	Status int
	// Drop answers nothing: the in-memory transport returns an error, a
	// network server closes the connection.
	Drop bool
	// Body answers HTTP 200 with this raw body: garbage, truncated JSON,
	// an HTML page, a Zoho error object.
	Body string
	// Count limits the fault to the next Count token calls; 0 keeps it
	// until SetFault(Fault{}).
	Count int
}

func (f Fault) active() bool {
	return f.Latency > 0 || f.Status != 0 || f.Drop || f.Body != ""
}

// Server is a fake Zoho with two data centers, "us" and "eu". Create it
// with New; Close it when done.
type Server struct {
	opts Options
	dcs  map[string]*dataCenter
	done chan struct{} // closed by Close; ends fault latencies

	mu        sync.Mutex
	codes     map[string]*grant
	refresh   map[string]*refreshToken
	access    map[string]*accessToken
	records   map[string][]json.RawMessage // encoded once; by location + "/" + lower-case module
	lastID    int64
	fault     Fault
	faultLeft int
	stats     Stats
	login     loginState
	started   bool
	closed    bool
}

// dataCenter is one fake DC: its real host names and, after Start, its
// loopback server.
type dataCenter struct {
	location     string
	accountsHost string   // accounts.zoho.com
	apiHosts     []string // www.zohoapis.com, sandbox.zohoapis.com
	accounts     http.Handler
	api          http.Handler
	both         http.Handler
	loopback     *httptest.Server
}

func (d *dataCenter) realAccountsURL() string { return "https://" + d.accountsHost }
func (d *dataCenter) realAPIDomain() string   { return "https://" + d.apiHosts[0] }

// New returns a Server with no listener; its Transport works at once.
func New(opts Options) *Server {
	s := &Server{
		opts:    opts.withDefaults(),
		dcs:     map[string]*dataCenter{},
		done:    make(chan struct{}),
		codes:   map[string]*grant{},
		refresh: map[string]*refreshToken{},
		access:  map[string]*accessToken{},
		records: map[string][]json.RawMessage{},
		stats:   Stats{TokenCalls: map[string]int{}},
	}
	for _, d := range []struct{ loc, tld string }{{"us", "com"}, {"eu", "eu"}} {
		dc := &dataCenter{
			location:     d.loc,
			accountsHost: "accounts.zoho." + d.tld,
			apiHosts:     []string{"www.zohoapis." + d.tld, "sandbox.zohoapis." + d.tld},
		}
		dc.accounts = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveAccounts(dc, w, r) })
		dc.api = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveAPI(dc, w, r) })
		dc.both = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/oauth/") {
				dc.accounts.ServeHTTP(w, r)
			} else {
				dc.api.ServeHTTP(w, r)
			}
		})
		s.dcs[d.loc] = dc
	}
	return s
}

func (s *Server) dc(location string) *dataCenter {
	d := s.dcs[strings.ToLower(location)]
	if d == nil {
		panic(fmt.Sprintf("zohotest: unknown location %q (want \"us\" or \"eu\")", location))
	}
	return d
}

// Start serves every data center on its own loopback httptest.Server, which
// answers both the accounts paths (/oauth/...) and the API paths. DC then
// reports the loopback URLs. Start panics if called twice or after Close.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		panic("zohotest: Start on a started or closed Server")
	}
	s.started = true
	for _, d := range s.dcs {
		d.loopback = httptest.NewServer(d.both)
	}
}

// Close stops the loopback servers, ends pending fault latencies, and makes
// the in-memory transport fail. It may be called more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	var servers []*httptest.Server
	for _, d := range s.dcs {
		if d.loopback != nil {
			servers = append(servers, d.loopback)
		}
	}
	s.mu.Unlock()
	for _, ts := range servers {
		ts.Close()
	}
}

// DC returns the URLs of the data center at location ("us" or "eu"):
// Zoho's real URLs before Start (served by Transport), the loopback URL for
// both after Start. It panics on any other location.
func (s *Server) DC(location string) DC {
	d := s.dc(location)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.loopback != nil {
		return DC{d.location, d.loopback.URL, d.loopback.URL}
	}
	return DC{d.location, d.realAccountsURL(), d.realAPIDomain()}
}

// Handler returns the handler of the data center at location: accounts
// paths under /oauth/, API paths elsewhere. Token responses name the
// serving host as api_domain, so the same server takes the API calls.
func (s *Server) Handler(location string) http.Handler {
	return s.dc(location).both
}

// NewGrantCode returns a single-use grant code of the data center at
// location, as Zoho's consent page or Self Client would. It expires after
// Options.CodeLifetime. Without scopes it grants DefaultScope.
func (s *Server) NewGrantCode(location string, scopes ...string) string {
	d := s.dc(location)
	code := newSecret()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = &grant{
		location: d.location,
		scopes:   scopeList(scopes),
		expires:  time.Now().Add(s.opts.CodeLifetime),
	}
	return code
}

// IssueToken returns a fresh refresh token of the data center at location
// and its first access token, as a code exchange would, without a token
// call. The access token counts toward the throttle and the live-token
// limit like any other. Without scopes it grants DefaultScope.
func (s *Server) IssueToken(location string, scopes ...string) (access, refresh string) {
	d := s.dc(location)
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.newRefreshLocked(d.location, scopeList(scopes))
	at, _ := s.mintLocked(rt, time.Now()) // a new refresh token is never throttled
	return at.value, rt.value
}

// RevokeAccessToken makes the API reject access, as when Zoho revokes a
// token on its side. Unknown tokens are ignored.
func (s *Server) RevokeAccessToken(access string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at := s.access[access]; at != nil {
		s.killLocked(at)
	}
}

// RevokeRefreshToken revokes refresh and every access token minted from it,
// as when the user removes the app in Zoho's settings. Unknown tokens are
// ignored.
func (s *Server) RevokeRefreshToken(refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt := s.refresh[refresh]; rt != nil {
		s.revokeRefreshLocked(rt)
	}
}

// ExpireAll makes every access token expire now. Refresh tokens stay valid.
func (s *Server) ExpireAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.access {
		s.killLocked(at)
	}
}

// SetFault makes the token endpoint misbehave as f says, replacing any
// earlier fault. SetFault(Fault{}) clears it.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.faultLeft = f, f.Count
}

// takeFaultLocked returns the fault for one token call and uses it up.
func (s *Server) takeFaultLocked() Fault {
	f := s.fault
	if !f.active() {
		return Fault{}
	}
	if s.faultLeft > 0 {
		s.faultLeft--
		if s.faultLeft == 0 {
			s.fault = Fault{}
		}
	}
	return f
}

// Stats returns a copy of what the Server has seen so far.
func (s *Server) Stats() Stats {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.TokenCalls = maps.Clone(s.stats.TokenCalls)
	st.AuthHeaders = slices.Clone(s.stats.AuthHeaders)
	for _, at := range s.access {
		if at.alive(now) {
			st.LiveTokens++
		}
	}
	return st
}

var errDropped = errors.New("zohotest: connection dropped (injected fault)")
var errClosed = errors.New("zohotest: server closed")

// wait sleeps for d, or until ctx is done or the Server closes.
func (s *Server) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errClosed
	}
}

// abort ends a request without an answer: the in-memory transport returns
// err, a network server drops the connection.
func abort(w http.ResponseWriter, err error) {
	if mw, ok := w.(*memWriter); ok {
		mw.err = err
		return
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, herr := hj.Hijack(); herr == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
