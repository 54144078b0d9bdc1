package zohoauth

import (
	"net"
	"net/url"
)

// Where a token may go. A Transport sends the token to:
//   - the host of the token's api_domain, when that is a Zoho API host or a
//     loopback test server (apiDomainTarget);
//   - the API hosts of every product in its table (Transport.Products), in
//     the token's own data center only (dataCenterOf);
//   - Transport.AllowedHosts.
//
// Hosts are compared in their canonical ASCII form (canonicalHost); a
// Unicode host, user info in the URL, or a port other than the scheme's
// default on a Zoho host gets nothing, and plain http is allowed only to
// loopback hosts.

// apiTarget is a host a token may be sent to, from a token's api_domain.
type apiTarget struct {
	hostPort string // canonical host[:port], as url.URL.Host would hold it
	host     string // canonical host name
	port     string // "" for the scheme's default port
}

// apiDomainTarget checks an api_domain: https on a host under a known data
// center's API domain (www.zohoapis.eu, sandbox.zohoapis.com), without a
// port, path, user info, query or fragment; or http or https on a loopback
// host, for test servers. Anything else gives the zero apiTarget: the token
// then goes only where its data center's products and AllowedHosts say.
func apiDomainTarget(raw string) apiTarget {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
		(u.Path != "" && u.Path != "/") || (u.Scheme != "https" && u.Scheme != "http") {
		return apiTarget{}
	}
	host, ok := canonicalHost(u.Hostname())
	if !ok {
		return apiTarget{}
	}
	port := defaultPortless(u.Scheme, u.Port())
	if !isLoopback(host) {
		d, _, ok := hostDC(host)
		if !ok || d.kind != underZohoAPIs || u.Scheme != "https" || port != "" {
			return apiTarget{}
		}
	}
	hp := host
	if port != "" {
		hp = net.JoinHostPort(host, port)
	}
	return apiTarget{hostPort: hp, host: host, port: port}
}

// validAPIDomain reports whether an api_domain from the token endpoint may
// be kept (see apiDomainTarget).
func validAPIDomain(raw string) bool { return apiDomainTarget(raw).host != "" }

// defaultPortless returns port, or "" when it is the scheme's default.
func defaultPortless(scheme, port string) string {
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		return ""
	}
	return port
}

// requestHost is what host decisions know of a request's URL.
type requestHost struct {
	host     string // canonical host name
	port     string // "" for the scheme's default port
	loopback bool
	dc       *dcInfo // the data center whose product host it is; nil if none
	label    string  // its first label, for the product table
	kind     string  // underZoho or underZohoAPIs when dc is set
	allowed  bool    // listed in AllowedHosts
}

// classify decides from u alone whether a request may carry a token at all,
// before any token is fetched: https (or http to loopback), no user info, a
// canonical ASCII host that is a product host of some data center, a
// loopback host or an AllowedHosts entry. It does not allocate for a
// canonical host.
func (t *Transport) classify(u *url.URL) (requestHost, bool) {
	var rh requestHost
	if u.User != nil || u.Opaque != "" {
		return rh, false
	}
	host, ok := canonicalHost(u.Hostname())
	if !ok {
		return rh, false
	}
	rh.host, rh.port, rh.loopback = host, defaultPortless(u.Scheme, u.Port()), isLoopback(host)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && rh.loopback:
	default:
		return rh, false
	}
	rh.allowed = t.inAllowedHosts(rh)
	if d, label, ok := hostDC(host); ok && u.Scheme == "https" && rh.port == "" && servesHost(t.products(), label, d.kind) {
		rh.dc, rh.label, rh.kind = d.dc, label, d.kind
	}
	return rh, rh.allowed || rh.loopback || rh.dc != nil
}

// inAllowedHosts compares rh with AllowedHosts entries: an entry with a
// port matches that port, one without matches any. Entries are compared in
// canonical form; one that is not ASCII matches nothing.
func (t *Transport) inAllowedHosts(rh requestHost) bool {
	for _, entry := range t.AllowedHosts {
		h, p := entry, ""
		if hh, pp, err := net.SplitHostPort(entry); err == nil {
			h, p = hh, pp
		}
		h, ok := canonicalHost(h)
		if ok && h == rh.host && (p == "" || p == rh.port || (rh.port == "" && (p == "443" || p == "80"))) {
			return true
		}
	}
	return false
}

// allows reports whether a request to rh may carry tok: rh is tok's
// api_domain host, a product host of tok's own data center, or in
// AllowedHosts.
func (t *Transport) allows(rh requestHost, tok *Token) bool {
	if rh.allowed {
		return true
	}
	api, dc := tokenTargets(tok)
	if api.host != "" && api.host == rh.host && api.port == rh.port {
		return true
	}
	return rh.dc != nil && rh.dc == dc
}

// tokenTargets returns tok's api_domain target and data center, cached on
// tokens this package built.
func tokenTargets(tok *Token) (apiTarget, *dcInfo) {
	if a := tok.auth; a != nil {
		return a.api, a.dc
	}
	return apiDomainTarget(tok.APIDomain), dataCenterOf(tok.APIDomain, tok.AccountsServer)
}

// products is the Transport's product table.
func (t *Transport) products() []Product {
	if t.Products != nil {
		return t.Products
	}
	return products
}

// isAPIHostOf is the hot path's shortcut: u is tok's own api_domain host,
// spelled canonically, so classify and allows would both say yes.
func isAPIHostOf(u *url.URL, tok *Token) bool {
	a := tok.auth
	return a != nil && a.api.hostPort != "" && u.Host == a.api.hostPort && u.User == nil &&
		(u.Scheme == "https" || (u.Scheme == "http" && isLoopback(a.api.host)))
}

// Authorizes reports whether a request to u would carry tok: whether u is
// on tok's api_domain host, on an API host of a product in t.Products in
// tok's data center, or on one of AllowedHosts, over https (or http to
// loopback). Transport asks the same before it adds the header; a command
// line or a router can ask it first, to say why a request would go out
// without a token.
func (t *Transport) Authorizes(u *url.URL, tok *Token) bool {
	rh, ok := t.classify(u)
	return ok && tok != nil && t.allows(rh, tok)
}
