package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/go-zoho/zohoauth"
)

// headerFlags collects the repeatable -H "Name: value" flag of api.
type headerFlags []struct{ name, value string }

func (h *headerFlags) String() string { return "" }

// Set takes one header. Its errors never repeat the value, which may be a
// secret given by mistake.
func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	switch {
	case !ok || name == "":
		return errors.New(`want "Name: value", such as "orgId: 123"`)
	case !validHeaderName(name):
		return errors.New("the header name has characters a header name cannot have")
	case strings.ContainsAny(value, "\r\n\x00"):
		return errors.New("the header value has a line break or NUL")
	}
	switch textproto.CanonicalMIMEHeaderKey(name) {
	case "Authorization":
		return errors.New("zohoauth adds the Authorization header itself")
	case "Host", "Content-Length", "Transfer-Encoding", "Connection":
		return errors.New("that header is set by the HTTP client")
	}
	*h = append(*h, struct{ name, value string }{name, value})
	return nil
}

// apply adds the headers to req under the names as given: Zoho's orgId is
// sent as orgId, not Orgid.
func (h headerFlags) apply(req *http.Request) {
	for _, kv := range h {
		req.Header[kv.name] = append(req.Header[kv.name], kv.value)
	}
}

func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// requestURL is where api sends its request: target itself when it is a
// URL, else target as a path under the token's api_domain (the data
// center's own when the token has none).
func requestURL(target string, tok *zohoauth.Token) (*url.URL, error) {
	if strings.Contains(target, "://") {
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%s: the URL cannot be read; give a full https URL or a path such as /crm/v8/Leads", target)
		}
		return u, nil
	}
	base := tok.APIDomain
	if base == "" {
		dc, err := zohoauth.DataCenterFromRedirect("", tok.AccountsServer)
		if err != nil {
			return nil, errors.New("the stored token has no api_domain; run \"zohoauth login\" or \"zohoauth exchange\" again")
		}
		base = dc.APIDomain
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/") + target)
	if err != nil {
		return nil, fmt.Errorf("%s: the path cannot be read; give a path such as /crm/v8/Leads?fields=Last_Name", target)
	}
	return u, nil
}
