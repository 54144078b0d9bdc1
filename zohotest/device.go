package zohotest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// deviceLogin is one device login, from the device code request until its
// token is collected, it is denied, or it expires.
type deviceLogin struct {
	deviceCode   string
	userCode     string
	clientID     string
	location     string // the data center that issued it
	scopes       []string
	offline      bool
	expires      time.Time
	decision     string // "", "accept" or "deny"
	userLocation string // the approving user's data center
	lastPoll     time.Time
}

// userCodeLetters are consonants only, as RFC 8628 suggests: no words, no
// 0/O or 1/I confusion.
const userCodeLetters = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	var b [8]byte
	rand.Read(b[:])
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, userCodeLetters[int(c)%len(userCodeLetters)])
	}
	return string(out)
}

// normalUserCode is the form user codes are looked up by: upper case,
// without the separators people type or leave out.
func normalUserCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// serveDeviceCode answers POST /oauth/v3/device/code.
func (s *Server) serveDeviceCode(d *dataCenter, w http.ResponseWriter, r *http.Request) {
	if !parsePost(w, r) {
		return
	}
	verify := requestOrigin(d, r) + "/oauth/v3/device"
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuseLocked(w, r.Form, "device_request") {
		return
	}
	if strings.Trim(r.Form.Get("scope"), ", ") == "" {
		writeJSON(w, http.StatusOK, tokenError{Error: "invalid_scope"})
		return
	}
	o := s.opts.Login
	dl := &deviceLogin{
		deviceCode: "1004" + strings.TrimPrefix(newSecret(), "1000"),
		userCode:   newUserCode(),
		clientID:   r.Form.Get("client_id"),
		location:   d.location,
		scopes:     scopeList([]string{r.Form.Get("scope")}),
		offline:    r.Form.Get("access_type") == "offline",
		expires:    time.Now().Add(o.DeviceCodeLifetime),
	}
	if s.login.devices == nil {
		s.login.devices, s.login.users = map[string]*deviceLogin{}, map[string]*deviceLogin{}
	}
	s.login.devices[dl.deviceCode] = dl
	s.login.users[normalUserCode(dl.userCode)] = dl
	// Whole seconds or milliseconds as Zoho sends them; a shorter time
	// than one unit as a fraction, so that it is not sent as 0.
	in := func(d time.Duration) float64 {
		if o.DeviceMillis {
			return float64(d) / float64(time.Millisecond)
		}
		return d.Seconds()
	}
	answer := map[string]any{
		"user_code":        dl.userCode,
		"device_code":      dl.deviceCode,
		"verification_url": verify,
		"expires_in":       in(o.DeviceCodeLifetime),
	}
	if !o.OmitDeviceInterval {
		answer["interval"] = in(o.DeviceInterval)
	}
	writeJSON(w, http.StatusOK, answer)
}

// refuseLocked counts a device endpoint call and answers it with Zoho's
// error when the client or the grant type is wrong. Polls must also carry
// the client secret; the device code request carries none.
func (s *Server) refuseLocked(w http.ResponseWriter, form url.Values, grantType string) bool {
	s.stats.TokenCalls[form.Get("grant_type")]++
	refusal := ""
	switch {
	case form.Get("client_id") != s.opts.ClientID:
		refusal = "invalid_client"
	case grantType == "device_token" && form.Get("client_secret") != s.opts.ClientSecret:
		refusal = "invalid_client_secret"
	case form.Get("grant_type") != grantType:
		refusal = "unsupported_grant_type"
	default:
		return false
	}
	writeJSON(w, http.StatusOK, tokenError{Error: refusal})
	return true
}

// serveDeviceToken answers POST /oauth/v3/device/token, a poll.
func (s *Server) serveDeviceToken(d *dataCenter, w http.ResponseWriter, r *http.Request) {
	if !parsePost(w, r) {
		return
	}
	apiDomain := apiDomainFor(d, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuseLocked(w, r.Form, "device_token") {
		return
	}
	dl := s.login.devices[r.Form.Get("code")]
	if dl == nil || (d.location != dl.location && d.location != dl.userLocation) {
		writeJSON(w, http.StatusOK, tokenError{Error: "invalid_code"})
		return
	}
	now := time.Now()
	last := dl.lastPoll
	dl.lastPoll = now
	switch {
	case !last.IsZero() && now.Sub(last) < s.opts.Login.DeviceInterval:
		writeJSON(w, http.StatusOK, tokenError{Error: "slow_down"})
	case !now.Before(dl.expires):
		s.forgetDeviceLocked(dl)
		writeJSON(w, http.StatusOK, tokenError{Error: "expired"})
	case dl.decision == "deny":
		s.forgetDeviceLocked(dl)
		writeJSON(w, http.StatusOK, tokenError{Error: "access_denied"})
	case dl.decision == "":
		writeJSON(w, http.StatusOK, tokenError{Error: "authorization_pending"})
	case d.location != dl.userLocation:
		writeJSON(w, http.StatusOK, struct {
			Error        string `json:"error"`
			UserLocation string `json:"user_location"`
		}{"other_dc", dl.userLocation})
	default:
		s.forgetDeviceLocked(dl)
		rt := s.newRefreshLocked(dl.userLocation, dl.scopes)
		at, _ := s.mintLocked(rt, now) // a new refresh token is never throttled
		refresh := rt.value
		if !dl.offline {
			refresh = ""
		}
		writeJSON(w, http.StatusOK, s.tokenJSON(at, refresh, apiDomain))
	}
}

func (s *Server) forgetDeviceLocked(dl *deviceLogin) {
	delete(s.login.devices, dl.deviceCode)
	delete(s.login.users, normalUserCode(dl.userCode))
}

var errNoDeviceLogin = errors.New("zohotest: no device login waits for this user code (unknown, expired, or already decided)")

// pendingDeviceLocked finds the login waiting for a decision on userCode.
func (s *Server) pendingDeviceLocked(userCode string) (*deviceLogin, error) {
	dl := s.login.users[normalUserCode(userCode)]
	if dl == nil || dl.decision != "" || !time.Now().Before(dl.expires) {
		return nil, errNoDeviceLogin
	}
	return dl, nil
}

// ApproveDevice approves the device login with userCode, as a user pressing
// Accept on the verification page would. location is the data center of
// the approving user's account: "" for the one that issued the code; any
// other makes polls of the issuing data center answer other_dc with that
// user_location, and polls there return the token. It fails for a code
// that is unknown, expired or already decided.
func (s *Server) ApproveDevice(userCode, location string) error {
	return s.decideDevice(userCode, "accept", location)
}

// DenyDevice denies the device login with userCode, as a user pressing Deny
// on the verification page would: its next poll gets access_denied.
func (s *Server) DenyDevice(userCode string) error {
	return s.decideDevice(userCode, "deny", "")
}

func (s *Server) decideDevice(userCode, decision, location string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dl, err := s.pendingDeviceLocked(userCode)
	if err != nil {
		return err
	}
	user, ok := s.userDC(location, s.dcs[dl.location])
	if !ok {
		return fmt.Errorf("zohotest: unknown location %q (want one of %s)", location, strings.Join(s.locations(), ", "))
	}
	dl.decision, dl.userLocation = decision, user.location
	return nil
}

// serveVerification is the page where a person enters the user code (GET,
// or POST with step=code) and then accepts or denies (POST step=decide).
func (s *Server) serveVerification(d *dataCenter, w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Connect a device", Locations: s.locations(), Location: d.location}
	switch r.Method {
	case http.MethodGet:
		p.UserCode = r.URL.Query().Get("user_code")
		writePage(w, http.StatusOK, "device", p)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("user_code"))
	if r.PostForm.Get("step") == "decide" {
		decision := r.PostForm.Get("decision")
		if decision != "accept" && decision != "deny" {
			http.Error(w, "bad request: decision must be accept or deny", http.StatusBadRequest)
			return
		}
		if err := s.decideDevice(code, decision, r.PostForm.Get("location")); err != nil {
			p.Error = "That code is not valid, has expired, or was already used."
			writePage(w, http.StatusBadRequest, "device", p)
			return
		}
		if decision == "accept" {
			p.Title = "Access granted"
			p.Message = "You can close this window and go back to your device."
		} else {
			p.Title = "Access denied"
			p.Message = "The device was not given access. You can close this window."
		}
		writePage(w, http.StatusOK, "result", p)
		return
	}
	s.mu.Lock()
	dl, err := s.pendingDeviceLocked(code)
	if err == nil {
		p.Client, p.Scopes, p.UserCode, p.Location = dl.clientID, dl.scopes, dl.userCode, dl.location
	}
	s.mu.Unlock()
	if err != nil {
		p.UserCode = code
		p.Error = "That code is not valid, has expired, or was already used. Check the code on your device."
		writePage(w, http.StatusOK, "device", p)
		return
	}
	p.Title = "Allow access"
	writePage(w, http.StatusOK, "consent", p)
}
