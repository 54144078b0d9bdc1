package zohotest

import (
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"
)

// LoginOptions configures how a person gets a first token from the fake:
// the device login (POST /oauth/v3/device/code and /oauth/v3/device/token,
// with the verification page at /oauth/v3/device) and the consent page of
// the web flow (/oauth/v2/auth). The zero value behaves like Zoho.
type LoginOptions struct {
	// DeviceCodeLifetime is how long a user code, and the device code that
	// goes with it, can be used. Default 5m, Zoho's.
	DeviceCodeLifetime time.Duration
	// DeviceInterval is the poll interval the device code answer announces
	// and the fake enforces: a poll that comes sooner than this after the
	// previous poll of the same device code gets slow_down. Default 30s,
	// Zoho's. The zohoauth client honours a shorter interval only from a
	// server on a loopback address (Start); it polls Zoho's host names,
	// in memory or not, at most every 30 s whatever is announced.
	DeviceInterval time.Duration
	// DeviceMillis sends the device code answer's expires_in and interval
	// in milliseconds instead of seconds (Zoho's pages show both).
	DeviceMillis bool
	// OmitDeviceInterval leaves interval out of the device code answer.
	OmitDeviceInterval bool
	// RedirectURIs, when set, are the only redirect_uri values the consent
	// page accepts, as with a client registered at Zoho. Empty accepts any
	// http or https address.
	RedirectURIs []string
}

func (o LoginOptions) withDefaults() LoginOptions {
	if o.DeviceCodeLifetime <= 0 {
		o.DeviceCodeLifetime = 5 * time.Minute
	}
	if o.DeviceInterval <= 0 {
		o.DeviceInterval = 30 * time.Second
	}
	return o
}

// loginState is what the login pages and endpoints keep, under Server.mu.
type loginState struct {
	devices map[string]*deviceLogin // by device code
	users   map[string]*deviceLogin // by normalised user code
}

// serveLogin answers the login paths of the accounts server and reports
// whether path was one of them.
func (s *Server) serveLogin(d *dataCenter, w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/oauth/v3/device/code":
		s.serveDeviceCode(d, w, r)
	case "/oauth/v3/device/token":
		s.serveDeviceToken(d, w, r)
	case "/oauth/v3/device":
		s.serveVerification(d, w, r)
	case "/oauth/v2/auth":
		s.serveConsent(d, w, r)
	default:
		return false
	}
	return true
}

// origin is the accounts server URL under which a request reached d: Zoho's
// real URL through the in-memory transport, else the scheme and host the
// request used (a loopback server, or a server wired to Handler).
func origin(d *dataCenter, scheme, host string) string {
	if strings.TrimSuffix(strings.ToLower(host), ":443") == d.accountsHost {
		return d.realAccountsURL()
	}
	return scheme + "://" + host
}

func requestOrigin(d *dataCenter, r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin(d, scheme, r.Host)
}

// accountsURLOf is the accounts server of the data center to, as seen by
// someone who reached the data center from at fromOrigin.
func (s *Server) accountsURLOf(from *dataCenter, fromOrigin string, to *dataCenter) string {
	if to == from {
		return fromOrigin
	}
	if fromOrigin == from.realAccountsURL() {
		return to.realAccountsURL()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if to.loopback != nil {
		return to.loopback.URL
	}
	return to.realAccountsURL()
}

// userDC picks the data center of the user who approves: location, or the
// data center that served the page when location is empty.
func (s *Server) userDC(location string, served *dataCenter) (*dataCenter, bool) {
	if location == "" {
		return served, true
	}
	d, ok := s.dcs[strings.ToLower(location)]
	return d, ok
}

// locations lists the fake's data centers, for the pages' choice of the
// account's data center.
func (s *Server) locations() []string {
	var locs []string
	for loc := range s.dcs {
		locs = append(locs, loc)
	}
	slices.Sort(locs)
	return locs
}

// page is the data of every login page.
type page struct {
	Title     string
	Error     string
	Client    string
	Scopes    []string
	UserCode  string
	Locations []string
	Location  string
	Hidden    map[string]string // the consent request, carried to the decision
	Redirect  string
	Message   string
}

// pages holds the fake's HTML. Element ids are stable, for browser tests:
// user_code, next, scopes (li.scope), location, accept, deny, result.
var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} - Zoho Accounts (zohotest)</title>
<style>
body{font-family:sans-serif;background:#f4f6f9;margin:0}
main{max-width:28rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem} .error{color:#b00020} ul{padding-left:1.2rem} code{font-size:1.1rem}
button{padding:.5rem 1.2rem;margin-right:.5rem} #accept{background:#1a73e8;color:#fff;border:0}
</style></head><body><main>
<p><b>Zoho Accounts</b> <small>(zohotest fake)</small></p>{{end}}
{{define "foot"}}</main></body></html>{{end}}

{{define "device"}}{{template "head" .}}
<h1>Connect a device</h1>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}
<form method="post" action="/oauth/v3/device">
<input type="hidden" name="step" value="code">
<label for="user_code">Enter the code shown on your device</label><br>
<input id="user_code" name="user_code" value="{{.UserCode}}" autocomplete="off" autofocus>
<button id="next" type="submit">Next</button>
</form>{{template "foot"}}{{end}}

{{define "consent"}}{{template "head" .}}
<h1>{{.Client}} would like to access your Zoho account</h1>
<p>It asks for:</p>
<ul id="scopes">{{range .Scopes}}<li class="scope">{{.}}</li>{{end}}</ul>
{{if .Redirect}}<p>You will be sent back to <code id="redirect">{{.Redirect}}</code>.</p>{{end}}
<form method="post" action="{{if .UserCode}}/oauth/v3/device{{else}}/oauth/v2/auth{{end}}">
{{if .UserCode}}<input type="hidden" name="step" value="decide"><input type="hidden" name="user_code" value="{{.UserCode}}">{{end}}
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<p><label for="location">Your account's data center</label>
<select id="location" name="location">{{range .Locations}}<option value="{{.}}"{{if eq . $.Location}} selected{{end}}>{{.}}</option>{{end}}</select></p>
<button id="accept" type="submit" name="decision" value="accept">Accept</button>
<button id="deny" type="submit" name="decision" value="deny">Deny</button>
</form>{{template "foot"}}{{end}}

{{define "result"}}{{template "head" .}}
<h1 id="result">{{.Title}}</h1>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{template "foot"}}{{end}}
`))

// writePage renders one of the pages.
func writePage(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, p)
}
