package zohoauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Transport is an http.RoundTripper that puts a Zoho access token on each
// request and recovers once when the API says the token is no longer good.
//
// It adds the token only to requests for allowed hosts: the host of the
// token's api_domain, every host under a known data center's API domain
// (www.zohoapis.eu, sandbox.zohoapis.com, ...), and AllowedHosts. Other
// requests, including redirects to other hosts, pass through untouched, and
// a token is never sent over plain http except to a loopback address.
//
// On HTTP 401 with a Zoho code that means the token is bad (INVALID_TOKEN,
// INVALID_OAUTHTOKEN, AUTHENTICATION_FAILURE, UNAUTHORIZED), Transport tells
// the source (see Rejecter), gets a fresh token and sends the request once
// more, with the body from Request.GetBody. If the body cannot be replayed,
// no fresh token can be had, or the code is another one (such as
// OAUTH_SCOPE_MISMATCH, which a new token cannot fix), the 401 is returned to
// the caller with its body intact. A request is never sent more than twice.
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
	// AllowedHosts are further hosts (host or host:port, no scheme) that
	// receive the token, such as a proxy in front of Zoho.
	AllowedHosts []string
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
	if !t.mayCarry(req.URL, nil) {
		return base.RoundTrip(req)
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
	if !t.mayCarry(req.URL, tok) {
		return base.RoundTrip(req)
	}
	resp, err := base.RoundTrip(t.withToken(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if !tokenRefused(resp) {
		return resp, nil
	}
	if r, ok := t.Source.(Rejecter); ok {
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
	replay := t.withToken(req, fresh)
	if hasBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		replay.Body = body
	}
	drain(resp)
	return base.RoundTrip(replay)
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

// mayCarry reports whether a request to u may carry tok. With tok nil it
// checks only what needs no token (the scheme; plain http only to loopback)
// and otherwise says yes: callers then fetch the token and ask again.
func (t *Transport) mayCarry(u *url.URL, tok *Token) bool {
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return false
		}
	default:
		return false
	}
	if tok == nil {
		// Only the token can tell; let the caller fetch it unless the
		// request obviously has no business with Zoho.
		return true
	}
	// The token's own api_domain first: the usual case, and a comparison
	// with a cached host is cheaper than the suffix checks below.
	if tok.APIDomain != "" {
		if a := apiHost(tok); a == u.Host || strings.EqualFold(a, u.Host) {
			return true
		}
	}
	host := u.Hostname()
	if isZohoAPIHost(host) {
		return true
	}
	for _, h := range t.AllowedHosts {
		if strings.EqualFold(h, u.Host) || strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// apiHost is the host[:port] of the token's api_domain.
func apiHost(tok *Token) string {
	if tok.auth != nil {
		return tok.auth.apiHost
	}
	return hostOf(tok.APIDomain)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
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
	h["Authorization"] = t.authValue(tok)
	r.Header = h
	return r
}

func (t *Transport) authValue(tok *Token) []string {
	if a := tok.auth; a != nil {
		switch t.Scheme {
		case "", "Zoho-oauthtoken":
			return a.zoho
		case "Bearer":
			return a.bearer
		}
	}
	scheme := t.Scheme
	if scheme == "" {
		scheme = "Zoho-oauthtoken"
	}
	return []string{scheme + " " + tok.AccessToken}
}

// Zoho codes in a 401 body that a new access token can fix.
var refreshableCodes = []string{"INVALID_TOKEN", "INVALID_OAUTHTOKEN", "AUTHENTICATION_FAILURE", "UNAUTHORIZED"}

// maxPeek bounds how much of a 401 body is read to find Zoho's code.
const maxPeek = 64 << 10

// tokenRefused reads Zoho's code from a 401 body and reports whether it says
// the token is bad. The body is put back for the caller, byte for byte.
func tokenRefused(resp *http.Response) bool {
	if resp.Body == nil || resp.Body == http.NoBody {
		return false
	}
	head, err := peek(resp)
	if err != nil {
		return false
	}
	return isRefreshableCode(errorCode401(head))
}

// peek reads up to maxPeek bytes of resp's body and puts them back in front
// of the rest, so whoever reads the body next sees it byte for byte.
func peek(resp *http.Response) ([]byte, error) {
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxPeek))
	resp.Body = &peekedBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), closer: resp.Body}
	return head, err
}

func isRefreshableCode(code string) bool {
	for _, c := range refreshableCodes {
		if strings.EqualFold(code, c) {
			return true
		}
	}
	return false
}

// errorCode401 finds Zoho's error code in an API error body: {"code": ...} at
// the top, or in the first element of "data".
func errorCode401(body []byte) string {
	var top struct {
		Code json.RawMessage `json:"code"`
		Data []struct {
			Code json.RawMessage `json:"code"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &top) != nil {
		return ""
	}
	if c := jsonText(top.Code); c != "" {
		return c
	}
	if len(top.Data) > 0 {
		return jsonText(top.Data[0].Code)
	}
	return ""
}

type peekedBody struct {
	io.Reader
	closer io.Closer
}

func (p *peekedBody) Close() error { return p.closer.Close() }

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxPeek))
	resp.Body.Close()
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// String describes the transport by the types of its Source and Base, not
// their contents: a base transport may hold credentials of its own (a
// proxy's, say), and fmt would print them for verbs such as %s.
func (t Transport) String() string {
	return fmt.Sprintf("zohoauth.Transport{Source:%T Base:%T Scheme:%q AllowedHosts:%q}", t.Source, t.Base, t.Scheme, t.AllowedHosts)
}

// GoString is used by %#v; it prints the String form.
func (t Transport) GoString() string { return t.String() }

// Format makes every fmt verb print the String form.
func (t Transport) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, t.String()) }
