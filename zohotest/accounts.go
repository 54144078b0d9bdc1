package zohotest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

type grant struct {
	location string
	scopes   []string
	expires  time.Time
}

type refreshToken struct {
	value    string
	location string
	scopes   []string
	minted   []time.Time    // mint times still inside the throttle window
	live     []*accessToken // oldest first; may hold expired tokens
}

type accessToken struct {
	value    string
	location string
	scopes   []string
	expires  time.Time
	parent   *refreshToken // nil for client credentials
}

func (at *accessToken) alive(now time.Time) bool { return now.Before(at.expires) }

// newSecret returns a random token in Zoho's shape: 1000.<hex>.<hex>.
func newSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return "1000." + hex.EncodeToString(b[:16]) + "." + hex.EncodeToString(b[16:])
}

// scopeList splits scopes given as separate strings or as comma or space
// separated lists, and defaults to DefaultScope.
func scopeList(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	if len(out) == 0 {
		return []string{DefaultScope}
	}
	return out
}

func (s *Server) newRefreshLocked(location string, scopes []string) *refreshToken {
	rt := &refreshToken{value: newSecret(), location: location, scopes: scopes}
	s.refresh[rt.value] = rt
	return rt
}

func (s *Server) newAccessLocked(location string, scopes []string, now time.Time) *accessToken {
	at := &accessToken{
		value:    newSecret(),
		location: location,
		scopes:   scopes,
		expires:  now.Add(s.opts.AccessTokenLifetime),
	}
	s.access[at.value] = at
	return at
}

// mintLocked makes a new access token from rt, or reports false when rt is
// throttled. It kills rt's oldest live token when rt has too many.
func (s *Server) mintLocked(rt *refreshToken, now time.Time) (*accessToken, bool) {
	window := now.Add(-s.opts.ThrottleWindow)
	rt.minted = slices.DeleteFunc(rt.minted, func(t time.Time) bool { return !t.After(window) })
	if s.opts.ThrottleLimit >= 0 && len(rt.minted) >= s.opts.ThrottleLimit {
		return nil, false
	}
	rt.live = slices.DeleteFunc(rt.live, func(old *accessToken) bool {
		if old.alive(now) {
			return false
		}
		delete(s.access, old.value)
		return true
	})
	if s.opts.MaxLiveTokens >= 0 && len(rt.live) >= s.opts.MaxLiveTokens {
		s.killLocked(rt.live[0])
	}
	at := s.newAccessLocked(rt.location, rt.scopes, now)
	at.parent = rt
	rt.minted = append(rt.minted, now)
	rt.live = append(rt.live, at)
	return at, true
}

// killLocked makes the API reject at from now on.
func (s *Server) killLocked(at *accessToken) {
	delete(s.access, at.value)
	if rt := at.parent; rt != nil {
		rt.live = slices.DeleteFunc(rt.live, func(x *accessToken) bool { return x == at })
	}
}

func (s *Server) revokeRefreshLocked(rt *refreshToken) {
	for _, at := range rt.live {
		delete(s.access, at.value)
	}
	rt.live = nil
	delete(s.refresh, rt.value)
}

// tokenResponse is a successful token answer, fields in Zoho's order.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	APIDomain    string `json:"api_domain,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresInSec int64  `json:"expires_in_sec,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
}

// tokenError is Zoho's token error answer, sent with HTTP 200.
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Status      string `json:"status,omitempty"`
}

var throttled = tokenError{
	Error:       "Access Denied",
	Description: "You have made too many requests continuously. Please try again after some time.",
	Status:      "failure",
}

func (s *Server) tokenJSON(at *accessToken, refresh, apiDomain string) tokenResponse {
	secs := int64(s.opts.AccessTokenLifetime / time.Second)
	r := tokenResponse{
		AccessToken:  at.value,
		RefreshToken: refresh,
		Scope:        strings.Join(at.scopes, " "),
		APIDomain:    apiDomain,
		TokenType:    "Bearer",
		ExpiresIn:    secs,
	}
	if s.opts.Legacy {
		r.ExpiresInSec, r.ExpiresIn = secs, secs*1000
	}
	return r
}

func (s *Server) serveAccounts(d *dataCenter, w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth/v2/token":
		s.serveToken(d, w, r)
	case "/oauth/v2/token/revoke":
		s.serveRevoke(d, w, r)
	default:
		if !s.serveLogin(d, w, r) {
			http.NotFound(w, r)
		}
	}
}

// parsePost parses the parameters of a POST, from the query string and a
// form body as Zoho does, or answers an error and reports false.
func parsePost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return false
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return false
	}
	return true
}

// serveToken answers POST /oauth/v2/token.
func (s *Server) serveToken(d *dataCenter, w http.ResponseWriter, r *http.Request) {
	if !parsePost(w, r) {
		return
	}
	s.mu.Lock()
	s.stats.TokenCalls[r.Form.Get("grant_type")]++
	f := s.takeFaultLocked()
	s.mu.Unlock()
	if f.active() && s.applyFault(f, w, r) {
		return
	}
	writeJSON(w, http.StatusOK, s.grantTokens(d, r.Form, apiDomainFor(d, r)))
}

// apiDomainFor is the api_domain to hand out: Zoho's API host when the
// request came for Zoho's accounts host (in-memory), else the server that
// took the request, which serves the API too.
func apiDomainFor(d *dataCenter, r *http.Request) string {
	host := strings.TrimSuffix(strings.ToLower(r.Host), ":443")
	if host == d.accountsHost {
		return d.realAPIDomain()
	}
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// applyFault acts out f and reports whether it answered the request.
func (s *Server) applyFault(f Fault, w http.ResponseWriter, r *http.Request) bool {
	if f.Latency > 0 {
		if err := s.wait(r.Context(), f.Latency); err != nil {
			abort(w, err)
			return true
		}
	}
	switch {
	case f.Drop:
		abort(w, errDropped)
	case f.Status != 0:
		body := f.Body
		if body == "" && f.Status >= 400 {
			text := fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status))
			body = "<html><head><title>" + text + "</title></head><body><h1>" + text + "</h1></body></html>\n"
		}
		writeRaw(w, f.Status, body)
	case f.Body != "":
		writeRaw(w, http.StatusOK, f.Body)
	default:
		return false
	}
	return true
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	ctype := "application/json;charset=UTF-8"
	if strings.HasPrefix(strings.TrimSpace(body), "<") {
		ctype = "text/html;charset=UTF-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// grantTokens runs one token call and returns the JSON to answer with.
func (s *Server) grantTokens(d *dataCenter, form url.Values, apiDomain string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if form.Get("client_id") != s.opts.ClientID {
		return tokenError{Error: "invalid_client"}
	}
	if form.Get("client_secret") != s.opts.ClientSecret {
		return tokenError{Error: "invalid_client_secret"}
	}
	now := time.Now()
	switch form.Get("grant_type") {
	case "authorization_code":
		code := form.Get("code")
		g := s.codes[code]
		if g == nil || g.location != d.location {
			return tokenError{Error: "invalid_code"}
		}
		delete(s.codes, code)
		if !now.Before(g.expires) {
			return tokenError{Error: "invalid_code"}
		}
		rt := s.newRefreshLocked(d.location, g.scopes)
		at, _ := s.mintLocked(rt, now)
		return s.tokenJSON(at, rt.value, apiDomain)
	case "refresh_token":
		rt := s.refresh[form.Get("refresh_token")]
		if rt == nil {
			return tokenError{Error: "invalid_code"}
		}
		if rt.location != d.location {
			return tokenError{Error: "invalid_client"} // what Zoho says across DCs
		}
		at, ok := s.mintLocked(rt, now)
		if !ok {
			s.stats.ThrottleHits++
			return throttled
		}
		return s.tokenJSON(at, "", "")
	case "client_credentials":
		if strings.TrimSpace(form.Get("scope")) == "" {
			return tokenError{Error: "invalid_scope"}
		}
		if form.Get("soid") == "" {
			return tokenError{Error: "missing_org_info"}
		}
		at := s.newAccessLocked(d.location, scopeList([]string{form.Get("scope")}), now)
		return s.tokenJSON(at, "", apiDomain)
	default:
		return tokenError{Error: "unsupported_grant_type"}
	}
}

// serveRevoke answers POST /oauth/v2/token/revoke?token=...: a refresh
// token takes its access tokens with it; an access token goes alone.
func (s *Server) serveRevoke(d *dataCenter, w http.ResponseWriter, r *http.Request) {
	if !parsePost(w, r) {
		return
	}
	token := r.Form.Get("token")
	s.mu.Lock()
	s.stats.TokenCalls["revoke"]++
	found := false
	if rt := s.refresh[token]; rt != nil && rt.location == d.location {
		s.revokeRefreshLocked(rt)
		found = true
	} else if at := s.access[token]; at != nil && at.location == d.location {
		s.killLocked(at)
		found = true
	}
	s.mu.Unlock()
	if !found {
		// Zoho documents only the status for an unknown token.
		writeJSON(w, http.StatusBadRequest, tokenError{Error: "invalid_token", Status: "failure"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
}
