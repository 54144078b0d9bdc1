package zohoauth

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// Transport is an http.RoundTripper that puts a Zoho access token on each
// request to Zoho's APIs and recovers once when the API says the token is no
// longer good.
//
// Where the token goes: to the host of the token's api_domain; to the API
// hosts of every product in Products (CRM and Books on www.zohoapis.eu,
// Desk on desk.zoho.eu, Mail on mail.zoho.eu, ...) in the token's own data
// center only; and to AllowedHosts. Hosts are compared in their ASCII form,
// lower case and without a trailing dot; a Unicode or lookalike host, user
// info in the URL, another data center's hosts, Zoho's web sites
// (www.zoho.eu) and plain http (except to loopback) get no token. Whether a
// request may carry a token at all is decided from its URL before any token
// is fetched: any other request, redirects to other hosts included, goes to
// Base exactly as the caller made it, and never waits for a token.
//
// On HTTP 401, Transport reads Zoho's answer with the table of the product
// the request went to. An answer that means a dead token (CRM's
// INVALID_TOKEN, Desk's INVALID_OAUTH, Mail's INVALID_OAUTHTOKEN, ...) makes
// it tell the source (see Rejecter), get a fresh token and send the request
// once more, with the body from Request.GetBody. An answer that may mean a
// dead token or a missing scope (Books' code 57) does so at most once per
// token. A scope error, an unknown answer, a body that cannot be replayed, a
// fresh token that may not go to the host, or no fresh token at all: the 401
// is returned to the caller with its body intact. A request is never sent
// more than twice. Reading the answer takes at most 64 KiB and 2 s; a body
// that trickles slower is handed back as it is.
//
// The zero value sends no token (it has no Source); set Source. Transport
// never modifies the caller's request.
type Transport struct {
	// Source supplies tokens. Required.
	Source TokenSource
	// Base makes the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Scheme is the Authorization scheme: "" means "Zoho-oauthtoken", which
	// every Zoho API accepts; "Bearer" is the other choice Zoho knows.
	Scheme string
	// AllowedHosts are further hosts (host or host:port, no scheme, in
	// ASCII: punycode for an international name) that receive the token,
	// such as a proxy in front of Zoho.
	AllowedHosts []string
	// Products is the table of Zoho products whose API hosts receive the
	// token and whose 401 answers are read; nil means Products(). Do not
	// change it while the Transport is in use.
	Products []Product
}

// NewClient returns an *http.Client whose requests to Zoho carry tokens from
// src.
func NewClient(src TokenSource) *http.Client {
	return &http.Client{Transport: &Transport{Source: src}}
}

var errNoSource = errors.New("zohoauth: Transport has no Source")

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base()
	// The usual request goes to the api_domain of the token being served:
	// that host is known to be allowed, so the classification below, which
	// would say the same, is skipped.
	fast := false
	if s, ok := t.Source.(*Source); ok {
		if snap := s.cur.Load(); snap != nil && isAPIHostOf(req.URL, snap.tok) {
			fast = true
		}
	}
	var rh requestHost
	if !fast {
		var candidate bool
		if rh, candidate = t.classify(req.URL); !candidate {
			return base.RoundTrip(req)
		}
	}
	if t.Source == nil {
		closeBody(req)
		return nil, errNoSource
	}
	tok, err := t.Source.Token(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if !fast || !isAPIHostOf(req.URL, tok) {
		if fast {
			rh, _ = t.classify(req.URL) // the token changed meanwhile
		}
		if !t.allows(rh, tok) {
			return base.RoundTrip(req)
		}
	}
	resp, err := base.RoundTrip(t.withToken(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	return t.recover(req, resp, tok)
}

// recover handles a 401: it replays req with a fresh token when Zoho's
// answer says the token is dead, and otherwise returns resp untouched.
func (t *Transport) recover(req *http.Request, resp *http.Response, tok *Token) (*http.Response, error) {
	v := t.verdict(req, resp)
	switch {
	case v == deadToken:
	case v == maybeDead && tok.auth != nil && !tok.auth.ambiguous.Load():
		// Once per token: the fresh token carries the mark, so if it gets
		// the same answer it is a scope problem.
	default:
		return resp, nil
	}
	if s, ok := t.Source.(*Source); ok && v == maybeDead {
		s.rejectAmbiguous(tok)
	} else if r, ok := t.Source.(Rejecter); ok {
		r.Reject(tok)
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody && req.GetBody == nil {
		return resp, nil // the body is spent; let the caller decide
	}
	fresh, err := t.Source.Token(req.Context())
	if err != nil || fresh.AccessToken == tok.AccessToken {
		return resp, nil
	}
	if v == maybeDead && fresh.auth != nil {
		fresh.auth.ambiguous.Store(true) // a Source marked it already; other sources' tokens too
	}
	if rh, ok := t.classify(req.URL); !ok || !t.allows(rh, fresh) {
		return resp, nil // the fresh token may not go there (another data center)
	}
	replay := t.withToken(req, fresh)
	if hasBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		replay.Body = body
	}
	drain(resp)
	return t.base().RoundTrip(replay)
}

// verdict reads Zoho's answer in a 401 with the table of the product the
// request went to, and puts the body back for the caller.
func (t *Transport) verdict(req *http.Request, resp *http.Response) verdict {
	if resp.Body == nil || resp.Body == http.NoBody {
		return otherAnswer
	}
	head, complete := peekBody(resp, maxPeek, peekTimeout)
	if !complete {
		return otherAnswer
	}
	ps := t.products()
	var p *Product
	if rh, ok := t.classify(req.URL); ok {
		p = productFor(ps, rh.label, rh.kind, req.URL.Path)
	}
	return judge(head, p, ps)
}

// CloseIdleConnections forwards to Base when it supports it.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// withToken returns a shallow copy of req with its own header map carrying
// the token. The caller's header value slices are shared with a capacity cut
// to their length, so an append downstream cannot write into them.
func (t *Transport) withToken(req *http.Request, tok *Token) *http.Request {
	r := new(http.Request)
	*r = *req
	h := make(http.Header, len(req.Header)+1)
	for k, v := range req.Header {
		h[k] = v[:len(v):len(v)]
	}
	h["Authorization"] = tok.header(t.Scheme)
	r.Header = h
	return r
}

// Bounds on reading a response body for Zoho's error code.
const (
	maxPeek     = 64 << 10
	peekTimeout = 2 * time.Second
)

// drain reads what is left of a response that is being replaced, within
// the peek's bounds, so its connection can be reused, then closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxPeek))
	resp.Body.Close()
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
