package zohotest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
)

// Transport returns an http.RoundTripper that serves requests for Zoho's
// real hosts from the Server, in memory: for "us" https://accounts.zoho.com,
// https://www.zohoapis.com (CRM, Books, WorkDrive),
// https://sandbox.zohoapis.com (CRM), https://desk.zoho.com,
// https://mail.zoho.com and https://projectsapi.zoho.com; the same under .eu
// for "eu" and .ae for "ae". Any other host is an error; it never uses the
// network. Handlers run on the calling goroutine, so it works inside
// testing/synctest bubbles. A cancelled request context ends a fault's
// latency and fails the call.
func (s *Server) Transport() http.RoundTripper { return memTransport{s} }

type memTransport struct{ s *Server }

// memWriter records a response in memory; abort sets err instead.
type memWriter struct {
	*httptest.ResponseRecorder
	err error
}

func (t memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.roundTrip(req)
	if req.Body != nil {
		req.Body.Close()
	}
	return resp, err
}

func (t memTransport) roundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		return nil, fmt.Errorf("zohotest: request without URL")
	}
	h, err := t.s.handlerFor(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := req.Clone(ctx) // the handler must not change the caller's request
	in.Header = canonical(req.Header)
	in.RequestURI = req.URL.RequestURI()
	if in.Host == "" {
		in.Host = req.URL.Host
	}
	if in.Body == nil {
		in.Body = http.NoBody
	}
	w := &memWriter{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(w, in)
	if w.err != nil {
		return nil, w.err
	}
	resp := w.Result()
	resp.Request = req
	return resp, nil
}

// handlerFor picks the handler for req's host.
func (s *Server) handlerFor(req *http.Request) (http.Handler, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	u := req.URL
	if u.Scheme != "https" || (u.Port() != "" && u.Port() != "443") {
		return nil, fmt.Errorf("zohotest: in-memory transport serves https on port 443 only, not %s://%s", u.Scheme, u.Host)
	}
	if h, ok := s.hosts[strings.ToLower(u.Hostname())]; ok {
		return h, nil
	}
	return nil, fmt.Errorf("zohotest: %s is not a Zoho host served by the fake; the in-memory transport never uses the network", u.Host)
}

// canonical returns h with every name in canonical form, as a server reads
// a request off the wire: a client that sets h["orgId"] directly is heard.
func canonical(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		out[ck] = append(out[ck], vs...)
	}
	return out
}
