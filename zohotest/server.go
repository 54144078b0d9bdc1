package zohotest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configures a Server. The zero value gives Zoho's documented
// behaviour and limits and the default test credentials; the boolean
// fields switch on quirks a client must survive.
type Options struct {
	// ClientID and ClientSecret are the only client credentials the token
	// endpoint accepts. Defaults: "test-client-id" and "test-client-secret".
	ClientID, ClientSecret string

	// AccessTokenLifetime is how long an access token works. Default 1h.
	// Zoho counts lifetimes in whole seconds (expires_in), so the fake
	// rounds it up to the next whole second: a lifetime of 300ms makes
	// tokens that live, and are announced to live, one second. Announcing
	// "expires_in": 0 for a token that still works would be a lie no
	// client can act on.
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

	// OmitAPIDomainOnRefresh leaves api_domain out of refresh answers, as
	// Zoho sometimes does; a client must then keep the api_domain it had.
	// By default a refresh answer carries it, as Zoho's usually do.
	OmitAPIDomainOnRefresh bool

	// AcceptBearer makes the APIs accept "Authorization: Bearer <token>".
	// By default they accept only "Zoho-oauthtoken <token>" and answer a
	// Bearer header like a request without a token, as Zoho CRM has been
	// seen to do.
	AcceptBearer bool

	// APICredits is how many CRM API calls each data center accepts in any
	// APICreditWindow; the next call gets 429 TOO_MANY_REQUESTS with
	// details.retry_after. While it is set, CRM answers carry Zoho's
	// X-RATELIMIT-DAY-LIMIT and X-RATELIMIT-DAY-REMAINING headers. Zero
	// means no limit (and no headers).
	APICredits int
	// APICreditWindow is the sliding window of APICredits. Default 24h,
	// Zoho's.
	APICreditWindow time.Duration

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
	if r := o.AccessTokenLifetime % time.Second; r != 0 {
		o.AccessTokenLifetime += time.Second - r
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
	if o.APICreditWindow <= 0 {
		o.APICreditWindow = 24 * time.Hour
	}
	o.Login = o.Login.withDefaults()
	return o
}

// DefaultScope is the scope of codes and tokens created without one.
const DefaultScope = "ZohoCRM.modules.ALL"

// dataCenters are the data centers the fake models: location and the
// domain under which its hosts live.
var dataCenters = []struct{ location, tld string }{
	{"us", "com"},
	{"eu", "eu"},
	{"ae", "ae"},
}

// DC names the URLs of one fake data center.
type DC struct {
	Location    string // "us", "eu" or "ae"
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
	// TokenRequests lists every call to the accounts server (token and
	// revoke endpoints) in the order they arrived, faulted ones included.
	TokenRequests []TokenRequest
	// ThrottleHits counts refreshes refused with "Access Denied".
	ThrottleHits int
	// LiveTokens is the number of access tokens the API would accept now.
	LiveTokens int
	// AccessTokens lists every access token the Server minted, oldest
	// first, live or not: what a test checks its logs and errors for.
	AccessTokens []string
	// APICalls counts requests to the APIs of every product, whatever
	// their outcome.
	APICalls int
	// ProductCalls counts API requests by product (CRM, Desk, ...).
	ProductCalls map[string]int
	// AuthHeaders holds the Authorization header of every API request in
	// order, "" for a request without one.
	AuthHeaders []string
	// Unauthorized counts 401 responses from the APIs.
	Unauthorized int
	// TooManyRequests counts 429 responses from the APIs.
	TooManyRequests int
}

// TokenRequest is one call to the accounts server, as it arrived.
type TokenRequest struct {
	At       time.Time  // when it arrived (the bubble's clock under synctest)
	Location string     // data center that took it
	Path     string     // "/oauth/v2/token" or "/oauth/v2/token/revoke"
	Form     url.Values // parameters of the form body
	Query    url.Values // parameters of the query string
	// Status is the HTTP status of the answer, 0 while it is pending or
	// when the connection was dropped.
	Status int
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
	// Header is added to a faulted answer (Status or Body), for example
	// {"Retry-After": {"2"}}. It is ignored when the call is answered
	// normally or dropped.
	Header http.Header
	// Count limits the fault to the next Count token calls; 0 keeps it
	// until SetFault(Fault{}). Script ignores it.
	Count int
}

func (f Fault) active() bool {
	return f.Latency > 0 || f.Status != 0 || f.Drop || f.Body != ""
}

// Server is a fake Zoho with three data centers, "us", "eu" and "ae".
// Create it with New; Close it when done.
type Server struct {
	opts  Options
	dcs   map[string]*dataCenter
	hosts map[string]http.Handler // by real host name
	done  chan struct{}           // closed by Close; ends fault latencies

	mu        sync.Mutex
	codes     map[string]*grant
	refresh   map[string]*refreshToken
	access    map[string]*accessToken
	crm       map[string][]*record         // by location + "/" + lower-case module
	items     map[string][]json.RawMessage // other products' data, by location + "/" + collection
	credits   map[string][]time.Time
	lastID    int64
	fault     Fault
	faultLeft int
	script    []Fault
	stats     Stats
	login     loginState
	started   bool
	closed    bool
}

// dataCenter is one fake DC: its real host names and, after Start, its
// loopback servers.
type dataCenter struct {
	location     string
	tld          string
	accountsHost string // accounts.zoho.com
	accounts     http.Handler
	both         http.Handler // accounts paths and www.zohoapis.<tld> paths
	loopback     *httptest.Server
	hostServers  map[string]*httptest.Server // by host prefix, after Start
}

func (d *dataCenter) realAccountsURL() string { return "https://" + d.accountsHost }
func (d *dataCenter) realAPIDomain() string   { return "https://" + hostName(apiHostPrefix, d.tld) }

// New returns a Server with no listener; its Transport works at once.
func New(opts Options) *Server {
	s := &Server{
		opts:    opts.withDefaults(),
		dcs:     map[string]*dataCenter{},
		hosts:   map[string]http.Handler{},
		done:    make(chan struct{}),
		codes:   map[string]*grant{},
		refresh: map[string]*refreshToken{},
		access:  map[string]*accessToken{},
		crm:     map[string][]*record{},
		items:   map[string][]json.RawMessage{},
		credits: map[string][]time.Time{},
		stats:   Stats{TokenCalls: map[string]int{}, ProductCalls: map[string]int{}},
	}
	for _, spec := range dataCenters {
		dc := &dataCenter{location: spec.location, tld: spec.tld, accountsHost: "accounts.zoho." + spec.tld}
		dc.accounts = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveAccounts(dc, w, r) })
		s.hosts[dc.accountsHost] = dc.accounts
		for _, prefix := range hostPrefixes() {
			s.hosts[hostName(prefix, spec.tld)] = s.hostHandler(dc, prefix)
		}
		api := s.hosts[hostName(apiHostPrefix, spec.tld)]
		dc.both = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/oauth/") {
				dc.accounts.ServeHTTP(w, r)
			} else {
				api.ServeHTTP(w, r)
			}
		})
		s.dcs[spec.location] = dc
	}
	return s
}

func (s *Server) dc(location string) *dataCenter {
	d := s.dcs[strings.ToLower(location)]
	if d == nil {
		panic(fmt.Sprintf("zohotest: unknown location %q (want \"us\", \"eu\" or \"ae\")", location))
	}
	return d
}

// Start serves every data center on loopback httptest.Servers: one that
// answers both the accounts paths (/oauth/...) and the paths of the
// products on www.zohoapis.<tld> (CRM, Books, WorkDrive), whose URL DC then
// reports, and one per product with a host of its own (Desk, Mail,
// Projects), whose base URL ProductURL then reports. Start panics if called
// twice or after Close.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		panic("zohotest: Start on a started or closed Server")
	}
	s.started = true
	for _, d := range s.dcs {
		d.loopback = httptest.NewServer(d.both)
		d.hostServers = map[string]*httptest.Server{}
		for _, prefix := range hostPrefixes() {
			if prefix != apiHostPrefix && prefix != sandboxHostPrefix {
				d.hostServers[prefix] = httptest.NewServer(s.hosts[hostName(prefix, d.tld)])
			}
		}
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
		for _, hs := range d.hostServers {
			servers = append(servers, hs)
		}
	}
	s.mu.Unlock()
	for _, ts := range servers {
		ts.Close()
	}
}

// DC returns the URLs of the data center at location ("us", "eu" or
// "ae"): Zoho's real URLs before Start (served by Transport), the loopback
// URL for both after Start. It panics on any other location.
func (s *Server) DC(location string) DC {
	d := s.dc(location)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.loopback != nil {
		return DC{d.location, d.loopback.URL, d.loopback.URL}
	}
	return DC{d.location, d.realAccountsURL(), d.realAPIDomain()}
}

// ProductURL returns the base URL of product's API in the data center at
// location, to which a client appends the product's paths: for example
// "https://desk.zoho.eu/api/v1" for Desk in "eu" before Start, served by
// Transport, and "http://127.0.0.1:<port>/api/v1" after Start. It panics on
// an unknown location or product (see Products).
func (s *Server) ProductURL(location, product string) string {
	d := s.dc(location)
	p := productByName(product)
	if p == nil {
		panic(fmt.Sprintf("zohotest: unknown product %q (want one of %s)", product, strings.Join(Products(), ", ")))
	}
	prefix := p.hosts[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case d.loopback == nil:
		return "https://" + hostName(prefix, d.tld) + p.base
	case d.hostServers[prefix] != nil:
		return d.hostServers[prefix].URL + p.base
	default:
		return d.loopback.URL + p.base
	}
}

// Handler returns the handler of the data center at location: accounts
// paths under /oauth/, the paths of the products on www.zohoapis.<tld>
// elsewhere. Token responses name the serving host as api_domain, so the
// same server takes the API calls.
func (s *Server) Handler(location string) http.Handler {
	return s.dc(location).both
}

// Stats returns a copy of what the Server has seen so far.
func (s *Server) Stats() Stats {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.TokenCalls = maps.Clone(s.stats.TokenCalls)
	st.ProductCalls = maps.Clone(s.stats.ProductCalls)
	st.AuthHeaders = slices.Clone(s.stats.AuthHeaders)
	st.AccessTokens = slices.Clone(s.stats.AccessTokens)
	st.TokenRequests = make([]TokenRequest, len(s.stats.TokenRequests))
	for i, tr := range s.stats.TokenRequests {
		tr.Form, tr.Query = cloneValues(tr.Form), cloneValues(tr.Query)
		st.TokenRequests[i] = tr
	}
	for _, at := range s.access {
		if at.alive(now) {
			st.LiveTokens++
		}
	}
	return st
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
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
	if sw, ok := w.(*statusWriter); ok {
		w = sw.ResponseWriter
	}
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
