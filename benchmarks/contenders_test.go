package benchmarks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"cloud.google.com/go/auth"
	"github.com/go-zoho/zohoauth"
	"golang.org/x/oauth2"
)

// setup is what a contender is built from.
type setup struct {
	zoho      *fakeZoho         // token endpoint (always) and API (when inner is nil)
	inner     http.RoundTripper // makes the API requests; nil means zoho
	seed      seed              // the token to start from
	apiDomain string            // the seed's api_domain; "" means the fake's
	ledger    *ledgerClock      // if not nil, a store's ledger calls are timed into it
}

// ledgerClock records the longest wall time a store's TakeCall took: the
// ledger write a Source makes before every token call.
type ledgerClock struct{ longest atomic.Int64 }

func (c *ledgerClock) record(d time.Duration) {
	for {
		old := c.longest.Load()
		if int64(d) <= old || c.longest.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// timedFileStore is a FileStore whose TakeCall is timed; everything else is
// the FileStore's own.
type timedFileStore struct {
	*zohoauth.FileStore
	clock *ledgerClock
}

func (s timedFileStore) TakeCall(ctx context.Context, now, at time.Time, limit int, window time.Duration) (bool, []time.Time, error) {
	start := time.Now()
	ok, calls, err := s.FileStore.TakeCall(ctx, now, at, limit, window)
	s.clock.record(time.Since(start))
	return ok, calls, err
}

func (s setup) base() http.RoundTripper {
	if s.inner != nil {
		return s.inner
	}
	return s.zoho
}

func (s setup) domain() string {
	if s.apiDomain != "" {
		return s.apiDomain
	}
	return apiDomain
}

// contender is one way of adding a token to requests, built the way its
// users would build it.
type contender struct {
	name string
	// margin is how long before its expiry the contender stops sending a
	// token and waits for a new one instead (TestContenderMargins checks it).
	margin time.Duration
	build  func(s setup) (rt http.RoundTripper, stop func())
}

// The margins: zohoauth stops sending a token 1 s before its expiry
// (expiryDelta, since issue 13; it was 10 s), x/oauth2 10 s before
// (defaultExpiryDelta), and cloud auth's cached provider sends it until its
// expiry (it refreshes in the background from 225 s before).
var (
	bare = contender{"bare", 0, func(s setup) (http.RoundTripper, func()) {
		return s.base(), func() {}
	}}
	floor = contender{"floor", 0, func(s setup) (http.RoundTripper, func()) {
		return &floorTransport{base: s.base(), value: []string{"Zoho-oauthtoken " + s.seed.access}}, func() {}
	}}
	zohoauthC = contender{"zohoauth", time.Second, func(s setup) (http.RoundTripper, func()) {
		return newZohoauth(s)
	}}
	// zohoauthFileC is zohoauth with a FileStore, as a service that keeps
	// its token on disk runs it: every refresh also goes through the token
	// file, its lock and its ledger (storm only).
	zohoauthFileC = contender{"zohoauth-file", time.Second, func(s setup) (http.RoundTripper, func()) {
		dir, err := os.MkdirTemp("", "zohoauth-bench-")
		if err != nil {
			panic(err)
		}
		var store zohoauth.Store = zohoauth.NewFileStore(filepath.Join(dir, "token.json"))
		if s.ledger != nil {
			store = timedFileStore{store.(*zohoauth.FileStore), s.ledger}
		}
		rt, stop := newZohoauth(s, zohoauth.WithStore(store))
		return rt, func() {
			stop()
			os.RemoveAll(dir)
		}
	}}
	oauth2C = contender{"oauth2", 10 * time.Second, func(s setup) (http.RoundTripper, func()) {
		conf := &oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: s.zoho})
		src := conf.TokenSource(ctx, &oauth2.Token{
			AccessToken:  s.seed.access,
			RefreshToken: refreshToken,
			TokenType:    "Bearer",
			Expiry:       s.seed.expiry,
		})
		return &oauth2.Transport{Source: src, Base: s.base()}, func() {}
	}}
	cloudauthC = contender{"cloudauth", 0, func(s setup) (http.RoundTripper, func()) {
		p := &zohoProvider{client: &http.Client{Transport: s.zoho}, seed: &auth.Token{
			Value: s.seed.access, Type: "Bearer", Expiry: s.seed.expiry,
		}}
		tp := auth.NewCachedTokenProvider(p, nil)
		// The first Token call hands over the seed without a request, so the
		// cache starts where the other contenders start.
		if _, err := tp.Token(context.Background()); err != nil {
			panic(err)
		}
		return &cloudTransport{provider: tp, base: s.base()}, func() {}
	}}
)

// newZohoauth builds zohoauth's contender, with extra options.
func newZohoauth(s setup, opts ...zohoauth.Option) (http.RoundTripper, func()) {
	src := zohoauth.NewSource(&zohoauth.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		AccountsURL:  accountsURL,
		HTTPClient:   &http.Client{Transport: s.zoho},
	}, append([]zohoauth.Option{zohoauth.WithToken(&zohoauth.Token{
		AccessToken:  s.seed.access,
		RefreshToken: refreshToken,
		TokenType:    "Bearer",
		APIDomain:    s.domain(),
		Expiry:       s.seed.expiry,
	})}, opts...)...)
	return &zohoauth.Transport{Source: src, Base: s.base()}, func() { src.Close() }
}

// competitors are the contenders that manage tokens.
var competitors = []contender{zohoauthC, oauth2C, cloudauthC}

// floorTransport is the least a correct token-adding RoundTripper can do:
// copy the request and its header map (so the caller's request is not
// modified), set one precomputed header value. It fetches no token.
type floorTransport struct {
	base  http.RoundTripper
	value []string
}

func (t *floorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := new(http.Request)
	*r = *req
	h := make(http.Header, len(req.Header)+1)
	for k, v := range req.Header {
		h[k] = v[:len(v):len(v)]
	}
	h["Authorization"] = t.value
	r.Header = h
	return t.base.RoundTrip(r)
}

// cloudTransport is the minimal RoundTripper around a cloud.google.com/go/auth
// TokenProvider, written like that module's own authTransport: clone the
// request, set the header as httptransport.SetAuthHeader does. That package
// is not imported: it would pull some 200 packages (gRPC, OpenTelemetry)
// into the build for one line, and its Google-only parts (universe domain
// check, regional access boundary header) do nothing for Zoho.
type cloudTransport struct {
	provider auth.TokenProvider
	base     http.RoundTripper
}

func (t *cloudTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	closed := false
	if req.Body != nil {
		defer func() {
			if !closed {
				req.Body.Close()
			}
		}()
	}
	tok, err := t.provider.Token(req.Context())
	if err != nil {
		return nil, err
	}
	req2 := req.Clone(req.Context())
	typ := tok.Type
	if typ == "" {
		typ = "Bearer"
	}
	req2.Header.Set("Authorization", typ+" "+tok.Value)
	closed = true
	return t.base.RoundTrip(req2)
}

// zohoProvider is the auth.TokenProvider a user of cloud.google.com/go/auth
// would write for Zoho: one refresh request per call. Its first call returns
// seed without a request.
type zohoProvider struct {
	client *http.Client
	seed   *auth.Token
}

func (p *zohoProvider) Token(ctx context.Context) (*auth.Token, error) {
	if s := p.seed; s != nil {
		p.seed = nil // the cached provider calls Token under its own lock
		return s, nil
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {clientID},
		"client_secret": {clientSecret},
		"refresh_token": {refreshToken},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("zoho token endpoint: HTTP %d", resp.StatusCode)
	}
	var r struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	if r.AccessToken == "" {
		return nil, errors.New("zoho token endpoint: no access_token")
	}
	return &auth.Token{Value: r.AccessToken, Type: r.TokenType, Expiry: time.Now().Add(time.Duration(r.ExpiresIn) * time.Second)}, nil
}

// idealC is the reference for the storm: the least a shared refresh can
// cost. The first caller starts one token request; everyone waits on one
// channel, then does what floor does. No expiry logic, no error handling:
// it serves one refresh and is not a usable client.
var idealC = contender{"ideal", 0, func(s setup) (http.RoundTripper, func()) {
	return &idealTransport{zoho: s.zoho, base: s.base(), done: make(chan struct{})}, func() {}
}}

type idealTransport struct {
	zoho    http.RoundTripper
	base    http.RoundTripper
	started atomic.Bool
	done    chan struct{}
	value   []string // set before done is closed
	err     error
}

func (t *idealTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.started.CompareAndSwap(false, true) {
		go t.refresh()
	}
	<-t.done
	if t.err != nil {
		return nil, t.err
	}
	return (&floorTransport{base: t.base, value: t.value}).RoundTrip(req)
}

func (t *idealTransport) refresh() {
	defer close(t.done)
	p := &zohoProvider{client: &http.Client{Transport: t.zoho}}
	tok, err := p.Token(context.Background())
	if err != nil {
		t.err = err
		return
	}
	t.value = []string{"Zoho-oauthtoken " + tok.Value}
}
