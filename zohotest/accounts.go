package zohotest

import (
	"crypto/rand"
	"encoding/hex"
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

// RevokeAccessToken makes the APIs reject access, as when Zoho revokes a
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
	s.stats.AccessTokens = append(s.stats.AccessTokens, at.value)
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
	sw := &statusWriter{ResponseWriter: w, record: -1}
	switch r.URL.Path {
	case "/oauth/v2/token":
		s.serveToken(d, sw, r)
	case "/oauth/v2/token/revoke":
		s.serveRevoke(d, sw, r)
	default:
		if !s.serveLogin(d, w, r) {
			http.NotFound(w, r)
		}
	}
	if sw.record >= 0 {
		s.mu.Lock()
		s.stats.TokenRequests[sw.record].Status = sw.status
		s.mu.Unlock()
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

// recordLocked adds r, whose form is parsed, to Stats.TokenRequests; w
// fills in the answer's status when it is done.
func (s *Server) recordLocked(d *dataCenter, w http.ResponseWriter, r *http.Request) {
	if sw, ok := w.(*statusWriter); ok {
		sw.record = len(s.stats.TokenRequests)
	}
	s.stats.TokenRequests = append(s.stats.TokenRequests, TokenRequest{
		At:       time.Now(),
		Location: d.location,
		Path:     r.URL.Path,
		Form:     cloneValues(r.PostForm),
		Query:    r.URL.Query(),
	})
}

// serveToken answers POST /oauth/v2/token.
func (s *Server) serveToken(d *dataCenter, w http.ResponseWriter, r *http.Request) {
	if !parsePost(w, r) {
		return
	}
	s.mu.Lock()
	s.recordLocked(d, w, r)
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
		if s.opts.OmitAPIDomainOnRefresh {
			apiDomain = ""
		}
		return s.tokenJSON(at, "", apiDomain)
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
	s.recordLocked(d, w, r)
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
