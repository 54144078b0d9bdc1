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
// that DC's API domain.
type DataCenter struct {
	// Location is Zoho's short name for the DC, as sent in the "location"
	// parameter of the consent redirect: "us", "eu", "in", ...
	Location string
	// AccountsURL is the DC's accounts server (token endpoint host).
	AccountsURL string
	// APIDomain is the DC's default API base URL. Prefer Token.APIDomain,
	// which Zoho returns for the account itself.
	APIDomain string
}

// Zoho's data centers.
var (
	US = DataCenter{"us", "https://accounts.zoho.com", "https://www.zohoapis.com"}
	EU = DataCenter{"eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"}
	IN = DataCenter{"in", "https://accounts.zoho.in", "https://www.zohoapis.in"}
	AU = DataCenter{"au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"}
	JP = DataCenter{"jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp"}
	CN = DataCenter{"cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"}
	CA = DataCenter{"ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"}
	SA = DataCenter{"sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa"}
	UK = DataCenter{"uk", "https://accounts.zoho.uk", "https://www.zohoapis.uk"}
)

var dataCenters = []DataCenter{US, EU, IN, AU, JP, CN, CA, SA, UK}

// accountsHosts maps every host Zoho uses for an accounts server to its DC.
// AU appears under two names in Zoho's documentation; both are accepted.
var accountsHosts = map[string]DataCenter{
	"accounts.zoho.com":     US,
	"accounts.zoho.eu":      EU,
	"accounts.zoho.in":      IN,
	"accounts.zoho.com.au":  AU,
	"accounts.zoho.au":      AU,
	"accounts.zoho.jp":      JP,
	"accounts.zoho.com.cn":  CN,
	"accounts.zohocloud.ca": CA,
	"accounts.zoho.sa":      SA,
	"accounts.zoho.uk":      UK,
}

// apiDomainSuffixes are the registrable domains of the known DCs' APIs.
// www., sandbox., developer. and other subdomains of these are Zoho's own.
var apiDomainSuffixes = []string{
	"zohoapis.com", "zohoapis.eu", "zohoapis.in", "zohoapis.com.au", "zohoapis.jp",
	"zohoapis.com.cn", "zohoapis.ca", "zohoapis.sa", "zohoapis.uk",
}

// DataCenters returns every known data center.
func DataCenters() []DataCenter { return append([]DataCenter(nil), dataCenters...) }

// LookupDataCenter finds a DC by its location ("us", "EU", ...) or by the
// top-level domain of its accounts server ("com", "com.au", "ca").
func LookupDataCenter(name string) (DataCenter, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, dc := range dataCenters {
		if n == dc.Location {
			return dc, true
		}
	}
	if dc, ok := accountsHosts["accounts.zoho."+n]; ok {
		return dc, true
	}
	if n == "zohocloud.ca" {
		return CA, true
	}
	return DataCenter{}, false
}

// ErrUnknownAccountsServer is returned by DataCenterFromRedirect when the
// redirect names an accounts server that is not one of Zoho's.
var ErrUnknownAccountsServer = errors.New("zohoauth: accounts server is not a known Zoho accounts host")

// DataCenterFromRedirect picks the DC from the "location" and
// "accounts-server" parameters Zoho adds to the consent redirect. Only Zoho's
// own accounts hosts are accepted: a client secret must never be sent to a
// server named by an attacker-controlled URL. When both parameters are given
// they must agree. accountsServer is the decoded parameter value, such as
// "https://accounts.zoho.eu".
func DataCenterFromRedirect(location, accountsServer string) (DataCenter, error) {
	var fromServer, fromLocation DataCenter
	var haveServer, haveLocation bool
	if accountsServer != "" {
		dc, err := dataCenterForAccountsURL(accountsServer)
		if err != nil {
			return DataCenter{}, err
		}
		fromServer, haveServer = dc, true
	}
	if location != "" {
		dc, ok := LookupDataCenter(location)
		if !ok {
			return DataCenter{}, fmt.Errorf("zohoauth: unknown data center location %s; known: us, eu, in, au, jp, cn, ca, sa, uk", quoteShort(location))
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
func dataCenterForAccountsURL(raw string) (DataCenter, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return DataCenter{}, fmt.Errorf("%w: %s", ErrUnknownAccountsServer, quoteShort(raw))
	}
	dc, ok := accountsHosts[strings.ToLower(u.Hostname())]
	if !ok {
		return DataCenter{}, fmt.Errorf("%w: %s", ErrUnknownAccountsServer, quoteShort(raw))
	}
	return dc, nil
}

// isZohoAccountsURL reports whether raw is https on a known accounts host.
func isZohoAccountsURL(raw string) bool {
	_, err := dataCenterForAccountsURL(raw)
	return err == nil
}

// isZohoAPIHost reports whether host (no port) belongs to a known DC's API
// domain, such as www.zohoapis.eu or sandbox.zohoapis.com.
func isZohoAPIHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, s := range apiDomainSuffixes {
		if host == s || strings.HasSuffix(host, "."+s) {
			return true
		}
	}
	return false
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
