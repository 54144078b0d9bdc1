package zohotest_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-zoho/zohoauth/zohotest"
)

// productCase is one product's list call, the scope that opens it, and the
// answers ZOHO.md's product table gives for a dead token and a missing
// scope.
type productCase struct {
	product string
	path    string      // appended to ProductURL
	header  http.Header // what the caller adds (orgId, ...)
	scope   string
	dead    string // status and body, "401 {...}"
	noScope string
}

var productCases = []productCase{
	{zohotest.CRM, "/Leads?fields=Last_Name", nil, "ZohoCRM.modules.leads.READ",
		`401 {"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`,
		`401 {"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`},
	{zohotest.Books, "/invoices?organization_id=10234695", nil, "ZohoBooks.invoices.READ",
		`401 {"code":57,"message":"You are not authorized to perform this operation"}`,
		`401 {"code":57,"message":"You are not authorized to perform this operation"}`},
	{zohotest.WorkDrive, "/files/root1/files", nil, "WorkDrive.files.READ",
		`401 {"errors":[{"id":"F7003","title":"Invalid OAuth token."}]}`,
		`401 {"errors":[{"id":"F7007","title":"Invalid OAuth scope."}]}`},
	{zohotest.Desk, "/tickets", http.Header{"orgId": {"60001234"}}, "Desk.tickets.READ",
		`401 {"errorCode":"INVALID_OAUTH","message":"The OAuth Token you provided is invalid."}`,
		`403 {"errorCode":"SCOPE_MISMATCH","message":"You do not have sufficient OAuth scope to perform this operation."}`},
	{zohotest.Mail, "/accounts", nil, "ZohoMail.accounts.READ",
		`401 {"data":{"errorCode":"INVALID_OAUTHTOKEN"},"status":{"code":401,"description":"Invalid Access"}}`,
		`401 {"data":{"errorCode":"INVALID_OAUTHSCOPE"},"status":{"code":401,"description":"Invalid Access"}}`},
	{zohotest.Projects, "/portals/", nil, "ZohoProjects.portals.READ",
		`401 {"error":{"code":6401,"message":"Invalid OAuth access token."}}`,
		`401 {"error":{"code":6403,"message":"Invalid OAuth scope."}}`},
}

// get sends GET url with the Authorization header auth ("" for none) and
// the extra header.
func get(t *testing.T, c *http.Client, url, auth string, extra http.Header) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return do(t, c, req)
}

func statusBody(r reply) string { return fmt.Sprintf("%d %s", r.Status, r.Raw) }

// Every product answers, on its real host in every data center, a live
// token with the right scope, and a dead token, a token of another data
// center, a Bearer header and a token without the scope each in the
// product's own words.
func TestProductsAnswerLikeZoho(t *testing.T) {
	for _, pc := range productCases {
		for _, loc := range []string{"us", "eu", "ae"} {
			t.Run(pc.product+"/"+loc, func(t *testing.T) {
				s, c := newServer(t, zohotest.Options{})
				url := s.ProductURL(loc, pc.product) + pc.path
				good, refresh := s.IssueToken(loc, pc.scope)
				if r := get(t, c, url, "Zoho-oauthtoken "+good, pc.header); r.Status/100 != 2 {
					t.Errorf("live token with %s: %d %s", pc.scope, r.Status, r.Raw)
				}
				other := map[string]string{"us": "eu", "eu": "ae", "ae": "us"}[loc]
				foreign, _ := s.IssueToken(other, pc.scope)
				revoked, _ := s.IssueToken(loc, pc.scope)
				s.RevokeAccessToken(revoked)
				for name, auth := range map[string]string{
					"revoked":           "Zoho-oauthtoken " + revoked,
					"unknown":           "Zoho-oauthtoken 1000.0123.4567",
					"other data center": "Zoho-oauthtoken " + foreign,
					"Bearer":            "Bearer " + good,
					"refresh token":     "Zoho-oauthtoken " + refresh,
				} {
					if got := statusBody(get(t, c, url, auth, pc.header)); got != pc.dead {
						t.Errorf("%s: %s, want %s", name, got, pc.dead)
					}
				}
				narrow, _ := s.IssueToken(loc, "ZohoCRM.settings.READ,Desk.basic.READ,ZohoBooks.settings.READ")
				if got := statusBody(get(t, c, url, "Zoho-oauthtoken "+narrow, pc.header)); got != pc.noScope {
					t.Errorf("missing scope: %s, want %s", got, pc.noScope)
				}
			})
		}
	}
}

func TestProductCounters(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	good, _ := s.IssueToken("eu", "Desk.tickets.ALL")
	url := s.ProductURL("eu", zohotest.Desk) + "/tickets"
	get(t, c, url, "Zoho-oauthtoken "+good, http.Header{"orgId": {"1"}})
	get(t, c, url, "", http.Header{"orgId": {"1"}})
	get(t, c, s.ProductURL("eu", zohotest.Mail)+"/accounts", "Zoho-oauthtoken "+good, nil) // no Mail scope: 401
	st := s.Stats()
	if st.APICalls != 3 || st.ProductCalls[zohotest.Desk] != 2 || st.ProductCalls[zohotest.Mail] != 1 || st.Unauthorized != 2 ||
		!slices.Equal(st.AuthHeaders, []string{"Zoho-oauthtoken " + good, "", "Zoho-oauthtoken " + good}) {
		t.Errorf("stats: %+v", st)
	}
}

// Desk says UNAUTHORIZED for a request without Authorization, which no new
// token can fix; every other product answers it like a dead token.
func TestProductsWithoutHeader(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	for _, pc := range productCases {
		want := pc.dead
		if pc.product == zohotest.Desk {
			want = `401 {"errorCode":"UNAUTHORIZED","message":"You are not authenticated to perform this operation."}`
		}
		if got := statusBody(get(t, c, s.ProductURL("us", pc.product)+pc.path, "", pc.header)); got != want {
			t.Errorf("%s without a header: %s, want %s", pc.product, got, want)
		}
	}
}

// The context each product needs from the caller: Desk's orgId header,
// Books' organization_id parameter. Without it, no data.
func TestProductContext(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	tok, _ := s.IssueToken("us", "Desk.tickets.ALL,ZohoBooks.fullaccess.all")
	auth := "Zoho-oauthtoken " + tok
	desk := s.ProductURL("us", zohotest.Desk) + "/tickets"
	for _, org := range []string{"", "abc", "-1"} {
		h := http.Header{}
		if org != "" {
			h.Set("orgId", org)
		}
		if r := get(t, c, desk, auth, h); r.Status != http.StatusBadRequest || !strings.Contains(r.Raw, `"errorCode":"INVALID_DATA"`) {
			t.Errorf("Desk with orgId %q: %d %s", org, r.Status, r.Raw)
		}
	}
	books := s.ProductURL("us", zohotest.Books) + "/invoices"
	for _, q := range []string{"", "?organization_id=", "?organization_id=x"} {
		if r := get(t, c, books+q, auth, nil); r.Status != http.StatusBadRequest || r.Raw != `{"code":2,"message":"Invalid value passed for organization_id"}` {
			t.Errorf("Books%s: %d %s", q, r.Status, r.Raw)
		}
	}
}

// What a client creates shows up in the next list, per data center and
// organization; what it sends malformed is refused in the product's shape.
func TestProductCreateThenList(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	tok, _ := s.IssueToken("eu", "Desk.tickets.CREATE,Desk.tickets.READ,ZohoBooks.invoices.ALL,WorkDrive.files.ALL")
	auth := "Zoho-oauthtoken " + tok
	post := func(url, body string, h http.Header) reply {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		for k, vs := range h {
			req.Header[k] = vs
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		return do(t, c, req)
	}
	org := http.Header{"orgId": {"777"}}
	desk := s.ProductURL("eu", zohotest.Desk) + "/tickets"
	if r := post(desk, `{"subject":"Printer on fire","departmentId":"1"}`, org); r.Status != 200 || r.str("subject") != "Printer on fire" || r.str("id") == "" {
		t.Errorf("Desk create: %d %s", r.Status, r.Raw)
	}
	if r := post(desk, `{"departmentId":"1"}`, org); r.Status != 422 {
		t.Errorf("Desk create without subject: %d %s", r.Status, r.Raw)
	}
	if r := get(t, c, desk, auth, org); !strings.Contains(r.Raw, `"subject":"Printer on fire"`) || strings.Count(r.Raw, `"id"`) != 1 {
		t.Errorf("Desk list: %s", r.Raw)
	}
	if r := get(t, c, desk, auth, http.Header{"orgId": {"778"}}); r.Raw != `{"data":[]}` {
		t.Errorf("Desk list of another organization: %s", r.Raw)
	}

	books := s.ProductURL("eu", zohotest.Books) + "/invoices?organization_id=10234695"
	if r := post(books, `{"customer_id":"460000000026049","line_items":[{"rate":12.5}]}`, nil); r.Status != 201 || r.JSON["code"] != 0.0 {
		t.Errorf("Books create: %d %s", r.Status, r.Raw)
	}
	if r := get(t, c, books, auth, nil); !strings.Contains(r.Raw, `"line_items":[{"rate":12.5}]`) || r.JSON["code"] != 0.0 {
		t.Errorf("Books list: %s", r.Raw)
	}

	wd := s.ProductURL("eu", zohotest.WorkDrive)
	r := post(wd+"/files", `{"data":{"attributes":{"name":"Reports","parent_id":"root1"},"type":"files"}}`, nil)
	if r.Status != 201 || r.Header.Get("Content-Type") != "application/vnd.api+json" {
		t.Errorf("WorkDrive create: %d %s", r.Status, r.Raw)
	}
	if r := get(t, c, wd+"/files/root1/files", auth, nil); !strings.Contains(r.Raw, `"name":"Reports","parent_id":"root1","type":"folder"`) {
		t.Errorf("WorkDrive list: %s", r.Raw)
	}
	if r := get(t, c, wd+"/files/other/files", auth, nil); r.Raw != `{"data":[]}` {
		t.Errorf("WorkDrive list of another folder: %s", r.Raw)
	}
	if r := post(wd+"/files", `{"data":{"attributes":{"name":""},"type":"files"}}`, nil); r.Status != 400 || !strings.Contains(r.Raw, `"errors":[`) {
		t.Errorf("WorkDrive create without a name: %d %s", r.Status, r.Raw)
	}
}

// Hosts and paths: each product answers on its own host only; an unknown
// path gets a 404 after the token check.
func TestProductHosts(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	tok, _ := s.IssueToken("ae", "ZohoMail.accounts.READ,Desk.tickets.READ")
	auth := "Zoho-oauthtoken " + tok
	if got := s.ProductURL("ae", zohotest.Mail); got != "https://mail.zoho.ae/api" {
		t.Errorf("ProductURL(ae, mail) = %s", got)
	}
	for url, status := range map[string]int{
		"https://mail.zoho.ae/api/accounts":        200,
		"https://mail.zoho.ae/api/v1/tickets":      404, // Desk's path on Mail's host
		"https://desk.zoho.ae/api/accounts":        404,
		"https://projectsapi.zoho.ae/api/accounts": 404,
	} {
		if r := get(t, c, url, auth, http.Header{"orgId": {"1"}}); r.Status != status {
			t.Errorf("%s: %d %s, want %d", url, r.Status, r.Raw, status)
		}
	}
	if r := get(t, c, "https://desk.zoho.ae/api/v1/tickets", "Zoho-oauthtoken 1000.dead.token", nil); r.Status != 401 {
		t.Errorf("an unknown token on an unknown path: %d", r.Status)
	}
	defer func() {
		if recover() == nil {
			t.Error("ProductURL of an unknown product did not panic")
		}
	}()
	s.ProductURL("us", "people")
}

// After Start every product has a loopback URL, which answers as the real
// host does.
func TestProductsOverLoopback(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	t.Cleanup(s.Close)
	s.Start()
	c := loopbackClient(t)
	seen := map[string]bool{}
	for _, pc := range productCases {
		base := s.ProductURL("eu", pc.product)
		if !strings.HasPrefix(base, "http://127.0.0.1:") {
			t.Fatalf("%s after Start: %s", pc.product, base)
		}
		seen[strings.SplitN(strings.TrimPrefix(base, "http://"), "/", 2)[0]] = true
		good, _ := s.IssueToken("eu", pc.scope)
		if r := get(t, c, base+pc.path, "Zoho-oauthtoken "+good, pc.header); r.Status/100 != 2 {
			t.Errorf("%s over loopback: %d %s", pc.product, r.Status, r.Raw)
		}
		foreign, _ := s.IssueToken("us", pc.scope)
		if got := statusBody(get(t, c, base+pc.path, "Zoho-oauthtoken "+foreign, pc.header)); got != pc.dead {
			t.Errorf("%s with a US token over loopback: %s", pc.product, got)
		}
	}
	// www.zohoapis.eu (CRM, Books, WorkDrive) shares the DC's server; Desk,
	// Mail and Projects have one each.
	if len(seen) != 4 || !seen[strings.TrimPrefix(s.DC("eu").APIDomain, "http://")] {
		t.Errorf("loopback hosts %v", seen)
	}
}
