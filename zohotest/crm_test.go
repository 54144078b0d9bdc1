package zohotest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth/zohotest"
)

const (
	invalidToken  = `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`
	scopeMismatch = `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`
)

func TestCRMCreateListGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newServer(t, zohotest.Options{})
		access, _ := s.IssueToken("us")
		const leads = "https://www.zohoapis.com/crm/v8/Leads"
		body := `{"data":[{"Last_Name":"Ng","Company":"A<B & Co","Annual_Revenue":12.50},{"Last_Name":"Roy","Tags":["x"]}]}`
		r := api(t, c, "POST", leads, access, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("POST: %d %s", r.Status, r.Raw)
		}
		// Zoho answers with each record's id and system fields, not the
		// record (the bubble's clock starts at 2000-01-01 UTC).
		details := func(id string) string {
			return `{"code":"SUCCESS","details":{"Modified_Time":"2000-01-01T00:00:00+00:00","Modified_By":{"name":"Test User","id":"5725767000000411001"},` +
				`"Created_Time":"2000-01-01T00:00:00+00:00","id":"` + id + `","Created_By":{"name":"Test User","id":"5725767000000411001"},"$approval_state":"approved"},` +
				`"message":"record added","status":"success"}`
		}
		m := []string{"", "5725767000000400001", "5725767000000400002"}
		if want := `{"data":[` + details(m[1]) + `,` + details(m[2]) + `]}`; r.Raw != want {
			t.Fatalf("POST answer %s\nwant %s", r.Raw, want)
		}

		// A list returns the named fields plus id; values come back as
		// they were sent; module names ignore case.
		list := api(t, c, "GET", "https://www.zohoapis.com/crm/v8/leads?fields=Company,Last_Name", access, "")
		want := `{"data":[{"Company":"A<B & Co","Last_Name":"Ng","id":"` + m[1] + `"},{"Last_Name":"Roy","id":"` + m[2] + `"}],` +
			`"info":{"per_page":200,"count":2,"page":1,"more_records":false}}`
		if list.Status != http.StatusOK || list.Raw != want {
			t.Errorf("GET list: %d %s\nwant %s", list.Status, list.Raw, want)
		}

		// A get by id returns every field, system fields included.
		got := api(t, c, "GET", leads+"/"+m[2], access, "")
		want = `{"data":[{"Created_By":{"name":"Test User","id":"5725767000000411001"},"Created_Time":"2000-01-01T00:00:00+00:00",` +
			`"Last_Name":"Roy","Modified_By":{"name":"Test User","id":"5725767000000411001"},"Modified_Time":"2000-01-01T00:00:00+00:00",` +
			`"Tags":["x"],"id":"` + m[2] + `"}]}`
		if got.Status != http.StatusOK || got.Raw != want {
			t.Errorf("GET by id: %d %s\nwant %s", got.Status, got.Raw, want)
		}
		if got := api(t, c, "GET", leads+"/"+m[1]+"?fields=Annual_Revenue", access, ""); got.Raw != `{"data":[{"Annual_Revenue":12.50,"id":"`+m[1]+`"}]}` {
			t.Errorf("GET by id with fields: %s", got.Raw)
		}

		// Other modules, unknown ids and other DCs have nothing: 204, no body.
		euAccess, _ := s.IssueToken("eu")
		for _, q := range []struct{ url, token string }{
			{"https://www.zohoapis.com/crm/v8/Contacts?fields=Last_Name", access},
			{leads + "/5725767000000999999", access},
			{"https://www.zohoapis.eu/crm/v8/Leads?fields=Last_Name", euAccess},
		} {
			if r := api(t, c, "GET", q.url, q.token, ""); r.Status != http.StatusNoContent || r.Raw != "" || r.Header.Get("Content-Type") != "" {
				t.Errorf("GET %s: %d %q (Content-Type %q), want 204 with no body", q.url, r.Status, r.Raw, r.Header.Get("Content-Type"))
			}
		}
	})
}

func TestCRMListWithoutFields(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	access, _ := s.IssueToken("us")
	api(t, c, "POST", "https://www.zohoapis.com/crm/v8/Leads", access, `{"data":[{"Last_Name":"Ng"}]}`)
	const want = `{"code":"REQUIRED_PARAM_MISSING","details":{"param_name":"fields"},"message":"One of the expected parameter is missing","status":"error"}`
	for _, q := range []string{"", "?fields=", "?fields=,%20,", "?page=1"} {
		if r := api(t, c, "GET", "https://www.zohoapis.com/crm/v8/Leads"+q, access, ""); r.Status != http.StatusBadRequest || r.Raw != want {
			t.Errorf("list%s: %d %s, want 400 %s", q, r.Status, r.Raw, want)
		}
	}
}

func TestCRMPages(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	access, _ := s.IssueToken("us")
	const leads = "https://www.zohoapis.com/crm/v8/Leads"
	var ids []string
	for i := range 5 {
		r := api(t, c, "POST", leads, access, fmt.Sprintf(`{"data":[{"Last_Name":"n%d"}]}`, i))
		ids = append(ids, r.JSON["data"].([]any)[0].(map[string]any)["details"].(map[string]any)["id"].(string))
	}
	page := func(q string) reply { return api(t, c, "GET", leads+"?fields=Last_Name&"+q, access, "") }
	for _, tt := range []struct {
		query string
		from  int // index of the first record
		count int
		more  bool
	}{
		{"per_page=2", 0, 2, true},
		{"per_page=2&page=1", 0, 2, true},
		{"per_page=2&page=2", 2, 2, true},
		{"per_page=2&page=3", 4, 1, false},
		{"per_page=5", 0, 5, false},
		{"page=1", 0, 5, false},
	} {
		r := page(tt.query)
		var got struct {
			Data []struct{ ID string } `json:"data"`
			Info struct {
				PerPage, Count, Page int
				MoreRecords          bool `json:"more_records"`
			} `json:"info"`
		}
		if err := json.Unmarshal([]byte(r.Raw), &got); err != nil || r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", tt.query, r.Status, r.Raw)
		}
		var gotIDs []string
		for _, d := range got.Data {
			gotIDs = append(gotIDs, d.ID)
		}
		if !slices.Equal(gotIDs, ids[tt.from:tt.from+tt.count]) || got.Info.Count != tt.count || got.Info.MoreRecords != tt.more {
			t.Errorf("%s: %s, want records %d..%d and more_records %v", tt.query, r.Raw, tt.from, tt.from+tt.count-1, tt.more)
		}
	}
	if r := page("page=2147483647"); r.Status != http.StatusNoContent {
		t.Errorf("the last possible page: %d %s, want 204", r.Status, r.Raw)
	}
	if r := page("per_page=2&page=4"); r.Status != http.StatusNoContent || r.Raw != "" {
		t.Errorf("a page past the last: %d %s, want 204", r.Status, r.Raw)
	}
	for _, tt := range []struct{ query, param string }{
		{"per_page=201", "per_page"}, {"per_page=0", "per_page"}, {"per_page=x", "per_page"},
		{"page=0", "page"}, {"page=-1", "page"},
	} {
		want := `{"code":"INVALID_DATA","details":{"param_name":"` + tt.param + `"},"message":"invalid data","status":"error"}`
		if r := page(tt.query); r.Status != http.StatusBadRequest || r.Raw != want {
			t.Errorf("%s: %d %s, want 400 %s", tt.query, r.Status, r.Raw, want)
		}
	}
}

func TestAPIBadRequests(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	access, _ := s.IssueToken("us")
	tests := []struct {
		name, method, url, body string
		status                  int
		code                    string
	}{
		{"old API version", "GET", "https://www.zohoapis.com/crm/v2/Leads", "", 404, "INVALID_URL_PATTERN"},
		{"path under a record", "GET", "https://www.zohoapis.com/crm/v8/Leads/1/x", "", 404, "INVALID_URL_PATTERN"},
		{"empty module", "GET", "https://www.zohoapis.com/crm/v8/", "", 404, "INVALID_URL_PATTERN"},
		{"delete", "DELETE", "https://www.zohoapis.com/crm/v8/Leads", "", 400, "INVALID_REQUEST_METHOD"},
		{"post to a record", "POST", "https://www.zohoapis.com/crm/v8/Leads/1", `{"data":[{}]}`, 400, "INVALID_REQUEST_METHOD"},
		{"not JSON", "POST", "https://www.zohoapis.com/crm/v8/Leads", "Last_Name=Ng", 400, "INVALID_DATA"},
		{"no records", "POST", "https://www.zohoapis.com/crm/v8/Leads", `{"data":[]}`, 400, "INVALID_DATA"},
		{"null record", "POST", "https://www.zohoapis.com/crm/v8/Leads", `{"data":[null]}`, 400, "INVALID_DATA"},
		{"token endpoint on the API host", "POST", "https://www.zohoapis.com/oauth/v2/token", "", 404, "INVALID_URL_PATTERN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api(t, c, tt.method, tt.url, access, tt.body)
			if r.Status != tt.status || r.str("code") != tt.code {
				t.Errorf("got %d %s, want %d %s", r.Status, r.Raw, tt.status, tt.code)
			}
		})
	}
	req, _ := http.NewRequest("GET", "https://accounts.zoho.com/crm/v8/Leads", nil)
	req.Header.Set("Authorization", "Zoho-oauthtoken "+access)
	if r := do(t, c, req); r.Status != http.StatusNotFound {
		t.Errorf("API path on the accounts host: %d, want 404", r.Status)
	}
}

func TestAPIAuthorization(t *testing.T) {
	const leads = "https://www.zohoapis.com/crm/v8/Leads"
	tests := []struct {
		name string
		// header sets the server up and returns the Authorization header.
		header func(s *zohotest.Server) string
		ok     bool
	}{
		{"Zoho-oauthtoken", func(s *zohotest.Server) string { a, _ := s.IssueToken("us"); return "Zoho-oauthtoken " + a }, true},
		{"Bearer", func(s *zohotest.Server) string { a, _ := s.IssueToken("us"); return "Bearer " + a }, false},
		{"scheme in lower case", func(s *zohotest.Server) string { a, _ := s.IssueToken("us"); return "zoho-oauthtoken " + a }, true},
		{"sandbox host", func(s *zohotest.Server) string { a, _ := s.IssueToken("us"); return "Zoho-oauthtoken " + a }, true},
		{"missing", func(*zohotest.Server) string { return "" }, false},
		{"unknown token", func(*zohotest.Server) string { return "Zoho-oauthtoken 1000.0123.4567" }, false},
		{"other scheme", func(s *zohotest.Server) string { a, _ := s.IssueToken("us"); return "Basic " + a }, false},
		{"refresh token", func(s *zohotest.Server) string { _, r := s.IssueToken("us"); return "Zoho-oauthtoken " + r }, false},
		{"token of another DC", func(s *zohotest.Server) string { a, _ := s.IssueToken("eu"); return "Zoho-oauthtoken " + a }, false},
		{"almost expired", func(s *zohotest.Server) string {
			a, _ := s.IssueToken("us")
			time.Sleep(time.Hour - time.Second)
			return "Zoho-oauthtoken " + a
		}, true},
		{"expired", func(s *zohotest.Server) string {
			a, _ := s.IssueToken("us")
			time.Sleep(time.Hour)
			return "Zoho-oauthtoken " + a
		}, false},
		{"revoked", func(s *zohotest.Server) string {
			a, _ := s.IssueToken("us")
			s.RevokeAccessToken(a)
			return "Zoho-oauthtoken " + a
		}, false},
		{"ExpireAll", func(s *zohotest.Server) string {
			a, _ := s.IssueToken("us")
			s.ExpireAll()
			return "Zoho-oauthtoken " + a
		}, false},
		{"evicted", func(s *zohotest.Server) string {
			a, rt := s.IssueToken("us")
			c := &http.Client{Transport: s.Transport()}
			for range 15 {
				resp, err := c.PostForm("https://accounts.zoho.com/oauth/v2/token", form("grant_type", "refresh_token", "refresh_token", rt))
				if err == nil {
					resp.Body.Close()
				}
			}
			return "Zoho-oauthtoken " + a
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, c := newServer(t, zohotest.Options{ThrottleLimit: -1})
				header := tt.header(s)
				url := leads
				if tt.name == "sandbox host" {
					url = "https://sandbox.zohoapis.com/crm/v8/Leads"
				}
				r := apiAuth(t, c, "GET", url+"?fields=Last_Name", header, "")
				st := s.Stats()
				if tt.ok {
					if r.Status != http.StatusNoContent || st.Unauthorized != 0 {
						t.Errorf("got %d %s, want 204", r.Status, r.Raw)
					}
				} else if r.Status != http.StatusUnauthorized || r.Raw != invalidToken || st.Unauthorized != 1 {
					t.Errorf("got %d %s (Unauthorized %d), want 401 %s", r.Status, r.Raw, st.Unauthorized, invalidToken)
				}
				if !slices.Equal(st.AuthHeaders, []string{header}) {
					t.Errorf("AuthHeaders = %q, want [%q]", st.AuthHeaders, header)
				}
			})
		})
	}
}

func TestAPIScopes(t *testing.T) {
	tests := []struct {
		scopes []string
		method string
		module string
		ok     bool
	}{
		{nil, "GET", "Leads", true}, // DefaultScope
		{nil, "POST", "Deals", true},
		{[]string{"ZohoCRM.modules.ALL"}, "POST", "Leads", true},
		{[]string{"zohocrm.modules.all"}, "GET", "Leads", true},
		{[]string{"ZohoCRM.modules.READ"}, "GET", "Deals", true},
		{[]string{"ZohoCRM.modules.READ"}, "POST", "Deals", false},
		{[]string{"ZohoCRM.modules.leads.READ"}, "GET", "Leads", true},
		{[]string{"ZohoCRM.modules.leads.READ"}, "GET", "leads", true},
		{[]string{"ZohoCRM.modules.Leads.READ"}, "GET", "LEADS", true},
		{[]string{"ZohoCRM.modules.leads.READ"}, "POST", "Leads", false},
		{[]string{"ZohoCRM.modules.leads.READ"}, "GET", "Contacts", false},
		{[]string{"ZohoCRM.modules.leads.CREATE"}, "POST", "Leads", true},
		{[]string{"ZohoCRM.modules.leads.CREATE"}, "GET", "Leads", false},
		{[]string{"ZohoCRM.modules.leads.WRITE"}, "POST", "Leads", true},
		{[]string{"ZohoCRM.modules.leads.ALL"}, "GET", "Leads", true},
		{[]string{"ZohoCRM.modules.leads.ALL"}, "POST", "Leads", true},
		{[]string{"ZohoCRM.modules.leads.DELETE"}, "GET", "Leads", false},
		{[]string{"ZohoCRM.settings.ALL", "ZohoCRM.users.READ"}, "GET", "Leads", false},
		{[]string{"ZohoCRM.settings.ALL,ZohoCRM.modules.contacts.READ"}, "GET", "Contacts", true},
		{[]string{"ZohoBooks.modules.ALL"}, "GET", "Leads", false},
	}
	for _, tt := range tests {
		s, c := newServer(t, zohotest.Options{})
		access, _ := s.IssueToken("us", tt.scopes...)
		body := ""
		if tt.method == "POST" {
			body = `{"data":[{"Last_Name":"Ng"}]}`
		}
		r := api(t, c, tt.method, "https://www.zohoapis.com/crm/v8/"+tt.module+"?fields=Last_Name", access, body)
		if tt.ok && r.Status/100 != 2 || !tt.ok && (r.Status != http.StatusUnauthorized || r.Raw != scopeMismatch) {
			t.Errorf("%v %s %s: got %d %s", tt.scopes, tt.method, tt.module, r.Status, r.Raw)
		}
	}
}

// AcceptBearer is the quirk switch for clients that send Bearer: the same
// token then works with either scheme.
func TestAcceptBearer(t *testing.T) {
	s, c := newServer(t, zohotest.Options{AcceptBearer: true})
	access, _ := s.IssueToken("us")
	for _, scheme := range []string{"Bearer ", "bearer ", "Zoho-oauthtoken "} {
		if r := apiAuth(t, c, "GET", "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name", scheme+access, ""); r.Status != http.StatusNoContent {
			t.Errorf("%q: %d %s, want 204", scheme, r.Status, r.Raw)
		}
	}
	if r := apiAuth(t, c, "GET", "https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name", "Basic "+access, ""); r.Raw != invalidToken {
		t.Errorf("Basic: %d %s", r.Status, r.Raw)
	}
}
