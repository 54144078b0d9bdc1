package zohotest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// consentRequest is a checked request for Zoho's consent page, the address
// that zohoauth's Config.AuthCodeURL builds.
type consentRequest struct {
	query       url.Values
	redirectURI *url.URL
	scopes      []string
	from        *dataCenter // the data center whose page it is
	origin      string      // its accounts server, as the browser reached it
}

// checkConsent checks q as Zoho's consent page does. Its errors are shown on
// the page: a request that fails them is never redirected anywhere.
func (s *Server) checkConsent(d *dataCenter, origin string, q url.Values) (consentRequest, error) {
	c := consentRequest{query: q, from: d, origin: origin}
	if rt := q.Get("response_type"); rt != "code" {
		return c, fmt.Errorf("response_type must be code, not %q", rt)
	}
	if q.Get("client_id") != s.opts.ClientID {
		return c, errors.New("invalid client: no client with this client_id")
	}
	raw := q.Get("redirect_uri")
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return c, errors.New("invalid redirect_uri: give the absolute http or https address registered for the client")
	}
	if len(s.opts.Login.RedirectURIs) > 0 && !slices.Contains(s.opts.Login.RedirectURIs, raw) {
		return c, fmt.Errorf("invalid redirect_uri: %q is not registered for this client", raw)
	}
	c.redirectURI = u
	if strings.Trim(q.Get("scope"), ", ") == "" {
		return c, errors.New("invalid scope: the request names no scope")
	}
	c.scopes = scopeList([]string{q.Get("scope")})
	return c, nil
}

// decide returns where the browser goes after Accept or Deny: the
// redirect_uri with code, location, accounts-server and state, or with
// error=access_denied and state. user is the approving user's data center.
func (s *Server) decide(c consentRequest, accept bool, user *dataCenter) string {
	u := *c.redirectURI
	q := u.Query()
	if accept {
		code := newSecret()
		s.mu.Lock()
		s.codes[code] = &grant{location: user.location, scopes: c.scopes, expires: time.Now().Add(s.opts.CodeLifetime)}
		s.mu.Unlock()
		q.Set("code", code)
		q.Set("location", user.location)
		q.Set("accounts-server", s.accountsURLOf(c.from, c.origin, user))
	} else {
		q.Set("error", "access_denied")
	}
	if state := c.query.Get("state"); state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// ApproveConsent does what a user pressing Accept on the consent page at
// authURL (from zohoauth's Config.AuthCodeURL) would, without a browser, and
// returns the address the browser would be sent to: the redirect_uri with a
// new grant code, location, accounts-server and state. location is the data
// center of the user's account, "" for the one whose page it is. authURL
// must name one of the fake's data centers: Zoho's real accounts host (as
// served by Transport) or a loopback URL from DC after Start.
func (s *Server) ApproveConsent(authURL, location string) (string, error) {
	c, err := s.consentFor(authURL)
	if err != nil {
		return "", err
	}
	user, ok := s.userDC(location, c.from)
	if !ok {
		return "", fmt.Errorf("zohotest: unknown location %q (want one of %s)", location, strings.Join(s.locations(), ", "))
	}
	return s.decide(c, true, user), nil
}

// DenyConsent does what a user pressing Deny on the consent page at authURL
// would, and returns the redirect_uri with error=access_denied and state.
func (s *Server) DenyConsent(authURL string) (string, error) {
	c, err := s.consentFor(authURL)
	if err != nil {
		return "", err
	}
	return s.decide(c, false, nil), nil
}

// consentFor checks a consent page address given to a test hook.
func (s *Server) consentFor(authURL string) (consentRequest, error) {
	u, err := url.Parse(authURL)
	if err != nil || u.Path != "/oauth/v2/auth" {
		return consentRequest{}, errors.New("zohotest: not a consent page address (want .../oauth/v2/auth?...)")
	}
	d := s.dcForOrigin(u.Scheme, u.Host)
	if d == nil {
		return consentRequest{}, fmt.Errorf("zohotest: %s is not one of the fake's accounts servers", u.Host)
	}
	c, err := s.checkConsent(d, origin(d, u.Scheme, u.Host), u.Query())
	if err != nil {
		return c, fmt.Errorf("zohotest: the consent page would refuse this request: %w", err)
	}
	return c, nil
}

// dcForOrigin finds the data center with the accounts server at
// scheme://host: a real Zoho host, or a loopback server after Start.
func (s *Server) dcForOrigin(scheme, host string) *dataCenter {
	h := strings.TrimSuffix(strings.ToLower(host), ":443")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.dcs {
		if h == d.accountsHost || (d.loopback != nil && d.loopback.URL == scheme+"://"+host) {
			return d
		}
	}
	return nil
}

// serveConsent is Zoho's consent page: GET shows the client, the scopes and
// where the browser will be sent; POST with decision=accept or deny sends it
// there.
func (s *Server) serveConsent(d *dataCenter, w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Allow access", Locations: s.locations(), Location: d.location}
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		q = r.PostForm
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	c, err := s.checkConsent(d, requestOrigin(d, r), q)
	if err != nil {
		p.Title, p.Error = "Invalid request", err.Error()
		writePage(w, http.StatusBadRequest, "result", p)
		return
	}
	if r.Method == http.MethodGet {
		p.Client, p.Scopes, p.Redirect = q.Get("client_id"), c.scopes, c.redirectURI.String()
		p.Hidden = map[string]string{}
		for _, k := range []string{"response_type", "client_id", "scope", "redirect_uri", "state", "access_type", "prompt"} {
			if v := q.Get(k); v != "" {
				p.Hidden[k] = v
			}
		}
		writePage(w, http.StatusOK, "consent", p)
		return
	}
	var to string
	switch q.Get("decision") {
	case "accept":
		user, ok := s.userDC(q.Get("location"), d)
		if !ok {
			http.Error(w, "bad request: unknown location", http.StatusBadRequest)
			return
		}
		to = s.decide(c, true, user)
	case "deny":
		to = s.decide(c, false, nil)
	default:
		http.Error(w, "bad request: decision must be accept or deny", http.StatusBadRequest)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusFound)
}
