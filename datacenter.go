package zohoauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DataCenter is one of Zoho's data centers. Every Zoho account lives in one;
// its tokens are minted by that DC's accounts server and work only against
// that DC's API hosts.
type DataCenter struct {
	// Location is Zoho's short name for the DC, as sent in the "location"
	// parameter of the consent redirect: "us", "eu", "in", ...
	Location string
	// AccountsURL is the DC's accounts server (token endpoint host).
	AccountsURL string
	// APIDomain is the DC's default API base URL. Prefer Token.APIDomain,
	// which Zoho returns for the account itself.
	APIDomain string
	// Domain is the DC's own domain, under which products such as Desk and
	// Mail have their API hosts: "zoho.eu" gives desk.zoho.eu. CA uses
	// "zohocloud.ca".
	Domain string
}

// Zoho's data centers. SG is not listed: Zoho does not document its
// accounts server and API domain consistently enough to send secrets there.
var (
	US = DataCenter{"us", "https://accounts.zoho.com", "https://www.zohoapis.com", "zoho.com"}
	EU = DataCenter{"eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu", "zoho.eu"}
	IN = DataCenter{"in", "https://accounts.zoho.in", "https://www.zohoapis.in", "zoho.in"}
	AU = DataCenter{"au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au", "zoho.com.au"}
	JP = DataCenter{"jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp", "zoho.jp"}
	CN = DataCenter{"cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn", "zoho.com.cn"}
	CA = DataCenter{"ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca", "zohocloud.ca"}
	SA = DataCenter{"sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa", "zoho.sa"}
	UK = DataCenter{"uk", "https://accounts.zoho.uk", "https://www.zohoapis.uk", "zoho.uk"}
	AE = DataCenter{"ae", "https://accounts.zoho.ae", "https://www.zohoapis.ae", "zoho.ae"}
)

var dataCenters = []DataCenter{US, EU, IN, AU, JP, CN, CA, SA, UK, AE}

// dcInfo is what host decisions need to know of one data center, computed
// once.
type dcInfo struct {
	dc   DataCenter
	apis string // the API domain without "www.": zohoapis.eu
}

// Host kinds: which of a DC's two domains a host lies under.
const (
	underZoho     = "{zoho}"     // desk.zoho.eu: a product host
	underZohoAPIs = "{zohoapis}" // www.zohoapis.eu: the API domain
)

// dcDomain is a DC's domain and its kind.
type dcDomain struct {
	dc   *dcInfo
	kind string
}

var (
	dcInfos []*dcInfo
	// dcDomains maps each DC's two domains (zoho.eu, zohoapis.eu) to it.
	dcDomains = map[string]dcDomain{}
	// accountsHosts maps every host Zoho uses for an accounts server to its
	// DC. AU appears under two names in Zoho's documentation; both count.
	accountsHosts = map[string]*dcInfo{}
)

func init() {
	for _, dc := range dataCenters {
		d := &dcInfo{dc: dc, apis: strings.TrimPrefix(mustHost(dc.APIDomain), "www.")}
		dcInfos = append(dcInfos, d)
		dcDomains[dc.Domain] = dcDomain{d, underZoho}
		dcDomains[d.apis] = dcDomain{d, underZohoAPIs}
		accountsHosts[mustHost(dc.AccountsURL)] = d
	}
	accountsHosts["accounts.zoho.au"] = accountsHosts["accounts.zoho.com.au"]
}

func mustHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		panic("zohoauth: bad built-in URL " + raw)
	}
	return u.Host
}

// DataCenters returns every known data center.
func DataCenters() []DataCenter { return append([]DataCenter(nil), dataCenters...) }

// LookupDataCenter finds a DC by its location ("us", "EU", ...) or by its
// domain or the top-level domain of its accounts server ("com", "com.au",
// "zohocloud.ca").
func LookupDataCenter(name string) (DataCenter, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, dc := range dataCenters {
		if n == dc.Location || n == dc.Domain {
			return dc, true
		}
	}
	if d, ok := accountsHosts["accounts.zoho."+n]; ok {
		return d.dc, true
	}
	return DataCenter{}, false
}

// knownLocations lists the DCs' locations for error messages.
func knownLocations() string {
	names := make([]string, len(dataCenters))
	for i, dc := range dataCenters {
		names[i] = dc.Location
	}
	return strings.Join(names, ", ")
}

// ErrUnknownAccountsServer is returned by DataCenterFromRedirect when the
// redirect names an accounts server that is not one of Zoho's.
var ErrUnknownAccountsServer = errors.New("zohoauth: accounts server is not a known Zoho accounts host")

// DataCenterFromRedirect picks the DC from the "location" and
// "accounts-server" parameters Zoho adds to the consent redirect. Only Zoho's
// own accounts hosts are accepted, compared in their ASCII form: a client
// secret must never be sent to a server named by an attacker-controlled URL.
// When both parameters are given they must agree. accountsServer is the
// decoded parameter value, such as "https://accounts.zoho.eu".
func DataCenterFromRedirect(location, accountsServer string) (DataCenter, error) {
	var fromServer, fromLocation DataCenter
	var haveServer, haveLocation bool
	if accountsServer != "" {
		d, err := dataCenterForAccountsURL(accountsServer)
		if err != nil {
			return DataCenter{}, err
		}
		fromServer, haveServer = d.dc, true
	}
	if location != "" {
		dc, ok := LookupDataCenter(location)
		if !ok {
			return DataCenter{}, fmt.Errorf("zohoauth: unknown data center location %s; known: %s", quoteShort(location), knownLocations())
		}
		fromLocation, haveLocation = dc, true
	}
	switch {
	case haveServer && haveLocation && fromServer.Location != fromLocation.Location:
		return DataCenter{}, fmt.Errorf("zohoauth: redirect location %s does not match accounts server %s", quoteShort(location), quoteShort(accountsServer))
	case haveServer:
		return fromServer, nil
	case haveLocation:
		return fromLocation, nil
	}
	return DataCenter{}, errors.New("zohoauth: redirect has neither location nor accounts-server")
}

// dataCenterForAccountsURL accepts only https://<known accounts host> with no
// user info, port, path beyond "/", query or fragment.
func dataCenterForAccountsURL(raw string) (*dcInfo, error) {
	u, err := url.Parse(raw)
	if err == nil && u.Scheme == "https" && u.User == nil && u.Port() == "" &&
		(u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == "" && u.Opaque == "" {
		if host, ok := canonicalHost(u.Hostname()); ok {
			if d := accountsHosts[host]; d != nil {
				return d, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownAccountsServer, quoteShort(raw))
}

// isZohoAccountsURL reports whether raw is https on a known accounts host.
func isZohoAccountsURL(raw string) bool {
	_, err := dataCenterForAccountsURL(raw)
	return err == nil
}

// canonicalHost returns host (without port) in the form host decisions
// compare: lower case, without a trailing dot. Only ASCII letters, digits,
// '-', '.', '_' and ':' (IPv6) are accepted: a Unicode host is dialled by its
// IDNA form, which is never one of Zoho's, and a lookalike such as
// "www.zohoap\u0130s.com" must not be folded into a Zoho host, so ok is
// false for it. A host that is already canonical is returned as is, without
// allocating.
func canonicalHost(host string) (string, bool) {
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return "", false
	}
	upper := false
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == ':':
		case 'A' <= c && c <= 'Z':
			upper = true
		default:
			return "", false
		}
	}
	if upper {
		host = strings.ToLower(host) // ASCII only, checked above
	}
	return host, true
}

// hostDC finds the data center whose domain holds host (canonical, no
// port), and which of its domains: desk.zoho.eu is under EU's {zoho},
// www.zohoapis.eu under its {zohoapis}. label is the first label of host.
// It does not allocate.
func hostDC(host string) (d dcDomain, label string, ok bool) {
	label, rest, found := strings.Cut(host, ".")
	if !found || label == "" {
		return dcDomain{}, "", false
	}
	d, ok = dcDomains[rest]
	return d, label, ok
}

// dataCenterOf is the DC of a token: the one of its api_domain when that is
// a Zoho API host, else the one of its accounts server, else nil.
func dataCenterOf(apiDomain, accountsServer string) *dcInfo {
	if u, err := url.Parse(apiDomain); err == nil && u.Scheme == "https" {
		if host, ok := canonicalHost(u.Hostname()); ok {
			if d, _, ok := hostDC(host); ok && d.kind == underZohoAPIs {
				return d.dc
			}
		}
	}
	if d, err := dataCenterForAccountsURL(accountsServer); err == nil {
		return d
	}
	return nil
}

// isLoopback reports whether host (no port) is localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// quoteShort quotes an outside value for an error message, with anything
// shaped like a Zoho token redacted and cut to a length that keeps messages
// readable.
func quoteShort(s string) string {
	const max = 64
	s = zohoSecret.ReplaceAllString(s, "REDACTED") // a grant code passed by mistake, say
	if len(s) > max {
		s = s[:max] + "..."
	}
	// Quoting can itself complete a token's shape: the escape of a byte
	// such as \x89 puts two more digits before "00.<hex>.<hex>".
	return zohoSecret.ReplaceAllString(fmt.Sprintf("%q", s), "REDACTED")
}
