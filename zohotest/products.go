package zohotest

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Product names, as Products lists them and ProductURL takes them.
const (
	CRM       = "crm"
	Books     = "books"
	WorkDrive = "workdrive"
	Desk      = "desk"
	Mail      = "mail"
	Projects  = "projects"
)

const (
	apiHostPrefix     = "www.zohoapis"
	sandboxHostPrefix = "sandbox.zohoapis"
)

// answer is a fixed API answer: a status and a JSON body.
type answer struct {
	status int
	body   string
}

// product is one Zoho API as the fake models it: where it lives, how it
// says that a token is dead or lacks a scope, and what it serves. The
// table below is the fake's whole model of the products; the answers follow
// the "Zoho products" facts the project collected (see docs/zohotest.md for
// which are confirmed and which are the fake's choice).
type product struct {
	name  string
	hosts []string // host prefixes; the host is prefix + "." + the DC's tld
	base  string   // path prefix of every call
	// dead answers a token that is unknown, expired, revoked, of another
	// data center or sent with a scheme the API does not accept.
	dead answer
	// noHeader answers a request without Authorization; zero means dead.
	noHeader answer
	// noScope answers a live token whose scopes do not cover the call.
	noScope answer
	// service is the first part of the product's scope names
	// ("Desk" in Desk.tickets.READ); compared without case.
	service string
	// fullAccess is a scope resource that covers every resource
	// ("fullaccess" in ZohoBooks.fullaccess.all), or "".
	fullAccess string
	routes     []route
	// serve answers calls the product handles itself (CRM); routes are
	// ignored then.
	serve func(s *Server, c *call)
}

// route is one operation of a product other than CRM.
type route struct {
	method string
	// path under base, segments starting with ":" match any one segment.
	path string
	// resource and op name the scope the call needs: Service.resource.op,
	// or Service.resource.ALL, or the product's fullAccess scope.
	resource, op string
	handle       func(s *Server, c *call)
}

var products = []*product{
	{
		name:    CRM,
		hosts:   []string{apiHostPrefix, sandboxHostPrefix},
		base:    "/crm/v8",
		dead:    answer{401, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`},
		noScope: answer{401, `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`},
		service: "ZohoCRM",
		serve:   serveCRM,
	},
	{
		name:       Books,
		hosts:      []string{apiHostPrefix},
		base:       "/books/v3",
		dead:       answer{401, `{"code":57,"message":"You are not authorized to perform this operation"}`},
		noScope:    answer{401, `{"code":57,"message":"You are not authorized to perform this operation"}`},
		service:    "ZohoBooks",
		fullAccess: "fullaccess",
		routes: []route{
			{"GET", "/invoices", "invoices", "READ", listBooksInvoices},
			{"POST", "/invoices", "invoices", "CREATE", createBooksInvoice},
		},
	},
	{
		name:    WorkDrive,
		hosts:   []string{apiHostPrefix},
		base:    "/workdrive/api/v1",
		dead:    answer{401, `{"errors":[{"id":"F7003","title":"Invalid OAuth token."}]}`},
		noScope: answer{401, `{"errors":[{"id":"F7007","title":"Invalid OAuth scope."}]}`},
		service: "WorkDrive",
		routes: []route{
			{"GET", "/files/:id/files", "files", "READ", listWorkDriveFiles},
			{"POST", "/files", "files", "CREATE", createWorkDriveFolder},
		},
	},
	{
		name:     Desk,
		hosts:    []string{"desk.zoho"},
		base:     "/api/v1",
		dead:     answer{401, `{"errorCode":"INVALID_OAUTH","message":"The OAuth Token you provided is invalid."}`},
		noHeader: answer{401, `{"errorCode":"UNAUTHORIZED","message":"You are not authenticated to perform this operation."}`},
		noScope:  answer{403, `{"errorCode":"SCOPE_MISMATCH","message":"You do not have sufficient OAuth scope to perform this operation."}`},
		service:  "Desk",
		routes: []route{
			{"GET", "/tickets", "tickets", "READ", listDeskTickets},
			{"POST", "/tickets", "tickets", "CREATE", createDeskTicket},
		},
	},
	{
		name:    Mail,
		hosts:   []string{"mail.zoho"},
		base:    "/api",
		dead:    answer{401, `{"data":{"errorCode":"INVALID_OAUTHTOKEN"},"status":{"code":401,"description":"Invalid Access"}}`},
		noScope: answer{401, `{"data":{"errorCode":"INVALID_OAUTHSCOPE"},"status":{"code":401,"description":"Invalid Access"}}`},
		service: "ZohoMail",
		routes: []route{
			{"GET", "/accounts", "accounts", "READ", listMailAccounts},
		},
	},
	{
		name:    Projects,
		hosts:   []string{"projectsapi.zoho"},
		base:    "/restapi",
		dead:    answer{401, `{"error":{"code":6401,"message":"Invalid OAuth access token."}}`},
		noScope: answer{401, `{"error":{"code":6403,"message":"Invalid OAuth scope."}}`},
		service: "ZohoProjects",
		routes: []route{
			{"GET", "/portals/", "portals", "READ", listProjectsPortals},
		},
	},
}

// Products lists the names of the products the fake serves, for
// ProductURL.
func Products() []string {
	names := make([]string, len(products))
	for i, p := range products {
		names[i] = p.name
	}
	return names
}

func productByName(name string) *product {
	for _, p := range products {
		if p.name == strings.ToLower(name) {
			return p
		}
	}
	return nil
}

// hostPrefixes lists every API host prefix of the products, once each.
func hostPrefixes() []string {
	var out []string
	for _, p := range products {
		for _, h := range p.hosts {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out
}

func hostName(prefix, tld string) string { return prefix + "." + tld }

// call is one API request on its way through a product.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	dc      *dataCenter
	product *product
	rest    string   // path under the product's base
	known   bool     // false: the path is under no product's base
	scopes  []string // of the access token
	params  []string // path segments matched by ":" in the route
}

// hostHandler serves the API host prefix of d: it picks the product by
// path, counts the call, checks the token and hands the call on. A path
// that no product on the host claims goes to the host's first product,
// which answers it as that product's unknown URL.
func (s *Server) hostHandler(d *dataCenter, prefix string) http.Handler {
	var onHost []*product
	for _, p := range products {
		if slices.Contains(p.hosts, prefix) {
			onHost = append(onHost, p)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, rest, known := onHost[0], r.URL.Path, false
		for _, cand := range onHost {
			if after, ok := strings.CutPrefix(r.URL.Path, cand.base); ok && (after == "" || after[0] == '/') {
				p, rest, known = cand, after, true
				break
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		c := &call{w: sw, r: r, dc: d, product: p, rest: rest, known: known}
		if s.authorize(c) {
			if p.serve != nil {
				p.serve(s, c)
			} else {
				s.route(c)
			}
		}
		s.mu.Lock()
		switch sw.status {
		case http.StatusUnauthorized:
			s.stats.Unauthorized++
		case http.StatusTooManyRequests:
			s.stats.TooManyRequests++
		}
		s.mu.Unlock()
	})
}

// statusWriter remembers the status of the answer, and which of
// Stats.TokenRequests it answers (-1: none).
type statusWriter struct {
	http.ResponseWriter
	status int
	record int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// authorize counts the call and checks its token: it answers the
// product's dead-token answer and reports false unless the token is live,
// of this data center and sent with an accepted scheme.
func (s *Server) authorize(c *call) bool {
	header := c.r.Header.Get("Authorization")
	now := time.Now()
	s.mu.Lock()
	s.stats.APICalls++
	s.stats.ProductCalls[c.product.name]++
	s.stats.AuthHeaders = append(s.stats.AuthHeaders, header)
	at := s.access[s.tokenOf(header)]
	valid := at != nil && at.location == c.dc.location && at.alive(now)
	if valid {
		c.scopes = at.scopes
	}
	s.mu.Unlock()
	switch {
	case valid:
		return true
	case header == "" && c.product.noHeader.status != 0:
		writeAnswer(c.w, c.product.noHeader)
	default:
		writeAnswer(c.w, c.product.dead)
	}
	return false
}

// tokenOf returns the token of an "Authorization: Zoho-oauthtoken <token>"
// header, or of "Bearer <token>" when Options.AcceptBearer is set, or "".
func (s *Server) tokenOf(header string) string {
	scheme, token, _ := strings.Cut(header, " ")
	if strings.EqualFold(scheme, "Zoho-oauthtoken") || s.opts.AcceptBearer && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}

// route finds the route of c among its product's, checks the scope and
// runs it. An unknown path or method gets a plain 404 (the products' own
// "no such URL" answers are not modelled).
func (s *Server) route(c *call) {
	for _, rt := range c.product.routes {
		params, ok := matchPath(rt.path, c.rest)
		if !ok || !c.known || rt.method != c.r.Method {
			continue
		}
		if !c.product.allows(c.scopes, rt.resource, rt.op) {
			writeAnswer(c.w, c.product.noScope)
			return
		}
		c.params = params
		rt.handle(s, c)
		return
	}
	http.NotFound(c.w, c.r)
}

// matchPath matches path against pattern, where a segment ":x" matches any
// non-empty segment, and returns those segments.
func matchPath(pattern, path string) ([]string, bool) {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	var params []string
	for i, p := range ps {
		switch {
		case strings.HasPrefix(p, ":") && xs[i] != "":
			params = append(params, xs[i])
		case p != xs[i]:
			return nil, false
		}
	}
	return params, true
}

// allows reports whether scopes grant op on resource of p: a scope
// Service.resource.op or Service.resource.ALL, or the product's full
// access scope. Comparison ignores case.
func (p *product) allows(scopes []string, resource, op string) bool {
	for _, sc := range scopes {
		parts := strings.Split(strings.ToLower(sc), ".")
		if len(parts) != 3 || parts[0] != strings.ToLower(p.service) {
			continue
		}
		res, grant := parts[1], parts[2]
		if p.fullAccess != "" && res == p.fullAccess && grant == "all" {
			return true
		}
		if res == strings.ToLower(resource) && (grant == "all" || grant == strings.ToLower(op)) {
			return true
		}
	}
	return false
}

func writeAnswer(w http.ResponseWriter, a answer) {
	writeRaw(w, a.status, nil, a.body)
}
