package zohoauth

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Product is one Zoho product's API as a Transport sees it: where the API
// lives in every data center, and how it answers HTTP 401 when the access
// token is dead, when it may be dead, and when the grant lacks a scope.
//
// One Zoho access token works for every product of its data center that its
// scopes cover, so a Transport sends the token to the API hosts of every
// product in its table, in the token's own data center only. A product Zoho
// adds later needs one more entry (see Transport.Products):
//
//	tr.Products = append(zohoauth.Products(), zohoauth.Product{
//		Name: "Newthing", APIs: []string{"newthing.{zoho}/api/"},
//		DeadToken: []zohoauth.ErrorCode{{Path: "code", Value: "INVALID_TOKEN"}},
//	})
type Product struct {
	// Name names the product: "CRM", "Desk", ...
	Name string
	// APIs are the product's API locations as patterns: a host, then
	// optionally a path prefix. In the host, "{zoho}" stands for the data
	// center's domain (zoho.eu; zohocloud.ca in CA) and "{zohoapis}" for
	// its API domain (zohoapis.eu), and a first label "*" for any one
	// label: "desk.{zoho}/api/", "*.{zohoapis}/crm/". The host part says
	// where the token may go; the path tells products that share a host
	// apart when a 401 is read.
	APIs []string
	// DeadToken lists the answers to a 401 that mean the access token is
	// no longer good (expired, revoked, evicted): a new token fixes them, so
	// the Transport refreshes and replays the request once.
	DeadToken []ErrorCode
	// Ambiguous lists answers that mean a dead token or a missing scope
	// alike, such as Books' code 57. The Transport refreshes at most once
	// per token on them: when the fresh token gets the same answer, it is
	// a scope problem, and that token is never refreshed for it again.
	Ambiguous []ErrorCode
	// ScopeError lists the answers that mean the grant lacks a scope. A new
	// token cannot fix them; they, like any answer not listed, are handed
	// back untouched.
	ScopeError []ErrorCode
	// Adds says what the caller adds to each request (an organization
	// header or parameter), for documentation.
	Adds string
	// Confirmed reports whether the dead-token answers come from Zoho's
	// documentation or answers seen live. When false they are a best
	// guess, and a wrong guess fails safe: the 401 is handed back.
	Confirmed bool
}

// ErrorCode is one answer in a Zoho API error body: the value at Path, a
// dot-separated path of object keys and array indexes into the JSON body
// ("code", "errorCode", "data.errorCode", "data.0.code", "error.title",
// "errors.0.id"). Value is compared ignoring ASCII case; a JSON number
// matches its decimal text ("57").
type ErrorCode struct {
	Path  string
	Value string
}

// Products returns Zoho's products this package knows, a fresh copy that
// callers may change and extend.
func Products() []Product {
	out := make([]Product, len(products))
	for i, p := range products {
		p.APIs = append([]string(nil), p.APIs...)
		p.DeadToken = append([]ErrorCode(nil), p.DeadToken...)
		p.Ambiguous = append([]ErrorCode(nil), p.Ambiguous...)
		p.ScopeError = append([]ErrorCode(nil), p.ScopeError...)
		out[i] = p
	}
	return out
}

// crmDead are CRM's answers for a token a refresh fixes, at the top of the
// body or in the first element of "data".
var crmDead = codesAt([]string{"code", "data.0.code"}, "INVALID_TOKEN", "INVALID_OAUTHTOKEN", "AUTHENTICATION_FAILURE", "UNAUTHORIZED")

var crmScope = codesAt([]string{"code", "data.0.code"}, "OAUTH_SCOPE_MISMATCH")

// books57 is the Books family's answer for a dead token and a missing scope
// alike.
var books57 = []ErrorCode{{"code", "57"}}

// products is Zoho's product table, from Zoho's API documentation and
// answers quoted by integrations (see Confirmed).
var products = []Product{
	{Name: "CRM", APIs: []string{"*.{zohoapis}/crm/"}, DeadToken: crmDead, ScopeError: crmScope, Confirmed: true},
	{Name: "Bigin", APIs: []string{"*.{zohoapis}/bigin/"}, DeadToken: crmDead, ScopeError: crmScope},
	{Name: "Recruit", APIs: []string{"recruit.{zoho}/recruit/"},
		DeadToken: codesAt([]string{"code"}, "INVALID_TOKEN", "INVALID_OAUTHTOKEN", "AUTHENTICATION_FAILURE")},
	{Name: "Books", APIs: []string{"*.{zohoapis}/books/", "books.{zoho}/api/"}, Ambiguous: books57,
		Adds: "organization_id query parameter", Confirmed: true},
	{Name: "Inventory", APIs: []string{"*.{zohoapis}/inventory/", "inventory.{zoho}/api/"}, Ambiguous: books57,
		Adds: "organization_id query parameter", Confirmed: true},
	{Name: "Invoice", APIs: []string{"*.{zohoapis}/invoice/", "invoice.{zoho}/api/"}, Ambiguous: books57,
		Adds: "X-com-zoho-invoice-organizationid header", Confirmed: true},
	{Name: "Billing", APIs: []string{"*.{zohoapis}/billing/", "subscriptions.{zoho}/api/"}, Ambiguous: books57,
		Adds: "X-com-zoho-subscriptions-organizationid header"},
	{Name: "Expense", APIs: []string{"*.{zohoapis}/expense/", "expense.{zoho}/api/"}, Ambiguous: books57,
		Adds: "X-com-zoho-expense-organizationid header"},
	{Name: "WorkDrive", APIs: []string{"*.{zohoapis}/workdrive/", "workdrive.{zoho}/api/"},
		ScopeError: []ErrorCode{{"errors.0.id", "F7007"}}, Adds: "Accept: application/vnd.api+json header"},
	{Name: "Creator", APIs: []string{"*.{zohoapis}/creator/", "creator.{zoho}/api/"},
		DeadToken: []ErrorCode{{"code", "1030"}}, Adds: "environment header", Confirmed: true},
	{Name: "Desk", APIs: []string{"desk.{zoho}/api/"},
		// UNAUTHORIZED here means the request had no Authorization
		// header, which a new token cannot fix.
		DeadToken:  []ErrorCode{{"errorCode", "INVALID_OAUTH"}},
		ScopeError: []ErrorCode{{"errorCode", "SCOPE_MISMATCH"}},
		Adds:       "orgId header", Confirmed: true},
	{Name: "Mail", APIs: []string{"mail.{zoho}/api/"},
		DeadToken: []ErrorCode{{"data.errorCode", "INVALID_OAUTHTOKEN"}}, Adds: "account id in the path", Confirmed: true},
	{Name: "Projects", APIs: []string{"projectsapi.{zoho}/"},
		DeadToken:  []ErrorCode{{"error.title", "INVALID_OAUTHTOKEN"}, {"error.code", "6401"}},
		ScopeError: []ErrorCode{{"error.code", "6403"}},
		Adds:       "portal id in the path", Confirmed: true},
	{Name: "People", APIs: []string{"people.{zoho}/people/api/", "people.{zoho}/api/"}},
	{Name: "Analytics", APIs: []string{"analyticsapi.{zoho}/"},
		DeadToken: []ErrorCode{{"data.errorCode", "8535"}, {"errorCode", "8535"}}, Adds: "ZANALYTICS-ORGID header"},
	{Name: "Sign", APIs: []string{"sign.{zoho}/api/"}},
	{Name: "Cliq", APIs: []string{"cliq.{zoho}/api/"}, DeadToken: []ErrorCode{{"code", "oauthtoken_invalid"}}},
	{Name: "Campaigns", APIs: []string{"campaigns.{zoho}/api/"}},
	{Name: "Sprints", APIs: []string{"sprintsapi.{zoho}/zsapi/"}},
	{Name: "Vault", APIs: []string{"vault.{zoho}/api/"}},
}

func codesAt(paths []string, values ...string) []ErrorCode {
	var out []ErrorCode
	for _, p := range paths {
		for _, v := range values {
			out = append(out, ErrorCode{p, v})
		}
	}
	return out
}

// apiPattern is one entry of Product.APIs, taken apart.
type apiPattern struct {
	label  string // first host label, "*" for any
	kind   string // underZoho or underZohoAPIs
	prefix string // path prefix without its leading "/"; "" for any
}

// parseAPI takes a pattern apart without allocating.
func parseAPI(s string) (apiPattern, bool) {
	host, prefix, _ := strings.Cut(s, "/")
	label, kind, ok := strings.Cut(host, ".")
	if !ok || label == "" || (kind != underZoho && kind != underZohoAPIs) {
		return apiPattern{}, false
	}
	return apiPattern{label, kind, prefix}, true
}

// onHost reports whether the pattern's host part covers a host whose first
// label is label, under a DC domain of kind.
func (p apiPattern) onHost(label, kind string) bool {
	return p.kind == kind && (p.label == "*" || p.label == label)
}

// covers reports whether the pattern's path prefix covers path.
func (p apiPattern) covers(path string) bool {
	rest, ok := strings.CutPrefix(path, "/")
	return ok && strings.HasPrefix(rest, p.prefix)
}

// servesHost reports whether one of ps has its API on a host with first
// label label under a DC domain of kind. It does not allocate.
func servesHost(ps []Product, label, kind string) bool {
	for i := range ps {
		for _, a := range ps[i].APIs {
			if p, ok := parseAPI(a); ok && p.onHost(label, kind) {
				return true
			}
		}
	}
	return false
}

// productFor finds which of ps serves path on a host with first label label
// under a DC domain of kind. For a host that is not Zoho's (kind ""; a proxy
// in AllowedHosts, a loopback test server) it goes by the path alone, among
// the patterns on the shared API domain, whose paths tell products apart.
// nil means no product is known: then every product's answers count.
func productFor(ps []Product, label, kind, path string) *Product {
	for i := range ps {
		for _, a := range ps[i].APIs {
			p, ok := parseAPI(a)
			switch {
			case !ok:
			case kind != "" && p.onHost(label, kind) && p.covers(path):
				return &ps[i]
			case kind == "" && p.kind == underZohoAPIs && p.prefix != "" && p.covers(path):
				return &ps[i]
			}
		}
	}
	return nil
}

// verdict is what a 401 says about the token.
type verdict int

const (
	otherAnswer verdict = iota // scope errors and anything unknown: hand it back
	deadToken                  // refresh and replay
	maybeDead                  // refresh once per token
)

// judge reads a 401 body with the answers of p, or of every product in ps
// when p is nil.
func judge(body []byte, p *Product, ps []Product) verdict {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return otherAnswer
	}
	one := ps
	if p != nil {
		one = []Product{*p}
	}
	has := func(field func(*Product) []ErrorCode) bool {
		for i := range one {
			if matchAny(doc, field(&one[i])) {
				return true
			}
		}
		return false
	}
	switch {
	case has(func(p *Product) []ErrorCode { return p.ScopeError }):
		return otherAnswer
	case has(func(p *Product) []ErrorCode { return p.DeadToken }):
		return deadToken
	case has(func(p *Product) []ErrorCode { return p.Ambiguous }):
		return maybeDead
	}
	return otherAnswer
}

func matchAny(doc any, codes []ErrorCode) bool {
	for _, c := range codes {
		if v, ok := jsonAt(doc, c.Path); ok && asciiOnly(v) && strings.EqualFold(v, c.Value) {
			return true
		}
	}
	return false
}

// jsonAt follows path into a decoded JSON document and renders the string
// or number it finds there. Any other type on the way, or at the end, is no
// answer.
func jsonAt(doc any, path string) (string, bool) {
	for _, key := range strings.Split(path, ".") {
		switch v := doc.(type) {
		case map[string]any:
			doc = v[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(v) {
				return "", false
			}
			doc = v[i]
		default:
			return "", false
		}
	}
	switch v := doc.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// asciiOnly guards EqualFold: Unicode folding would let "\u212a" (Kelvin
// sign) match "k".
func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
