package zohotest_test

import (
	"encoding/json"
	"net/http"
	"regexp"
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

func TestAPICreateAndList(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	access, _ := s.IssueToken("us")
	const leads = "https://www.zohoapis.com/crm/v8/Leads"
	body := `{"data":[{"Last_Name":"Ng","Company":"A<B & Co","Annual_Revenue":12.50},{"Last_Name":"Roy","Tags":["x"]}]}`
	r := api(t, c, "POST", leads, access, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.Status, r.Raw)
	}
	var created struct {
		Data []struct {
			Code    string          `json:"code"`
			Details json.RawMessage `json:"details"`
			Status  string          `json:"status"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &created); err != nil || len(created.Data) != 2 {
		t.Fatalf("POST answer %s: %v", r.Raw, err)
	}
	id := regexp.MustCompile(`"id":"[0-9]{19}"`)
	want := []string{
		`{"Annual_Revenue":12.50,"Company":"A<B & Co","Last_Name":"Ng",`,
		`{"Last_Name":"Roy","Tags":["x"],`,
	}
	var details []string
	for i, d := range created.Data {
		got := string(d.Details)
		if d.Code != "SUCCESS" || d.Status != "success" || got[:len(want[i])] != want[i] || !id.MatchString(got) {
			t.Errorf("record %d: %s, want fields %s plus an id", i, got, want[i])
		}
		details = append(details, got)
	}
	if details[0] == details[1] {
		t.Error("two records share an id")
	}

	// Later lists show the same bytes; module names ignore case.
	list := api(t, c, "GET", "https://www.zohoapis.com/crm/v8/leads", access, "")
	var listed struct {
		Data []json.RawMessage `json:"data"`
		Info struct {
			Count       int  `json:"count"`
			MoreRecords bool `json:"more_records"`
		} `json:"info"`
	}
	if err := json.Unmarshal([]byte(list.Raw), &listed); err != nil || list.Status != http.StatusOK {
		t.Fatalf("GET: %d %s", list.Status, list.Raw)
	}
	var got []string
	for _, d := range listed.Data {
		got = append(got, string(d))
	}
	if !slices.Equal(got, details) || listed.Info.Count != 2 || listed.Info.MoreRecords {
		t.Errorf("GET listed %s, want the created records", list.Raw)
	}

	// Other modules and other DCs are separate.
	if r := api(t, c, "GET", "https://www.zohoapis.com/crm/v8/Contacts", access, ""); r.Raw != `{"data":[],"info":{"per_page":200,"count":0,"page":1,"more_records":false}}` {
		t.Errorf("empty module: %s", r.Raw)
	}
	euAccess, _ := s.IssueToken("eu")
	if r := api(t, c, "GET", "https://www.zohoapis.eu/crm/v8/Leads", euAccess, ""); r.JSON["info"].(map[string]any)["count"] != 0.0 {
		t.Errorf("EU sees US records: %s", r.Raw)
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
		{"record path", "GET", "https://www.zohoapis.com/crm/v8/Leads/1", "", 404, "INVALID_URL_PATTERN"},
		{"delete", "DELETE", "https://www.zohoapis.com/crm/v8/Leads", "", 405, "INVALID_REQUEST_METHOD"},
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
		{"Bearer", func(s *zohotest.Server) string { a, _ := s.IssueToken("us"); return "Bearer " + a }, true},
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
				r := apiAuth(t, c, "GET", url, header, "")
				st := s.Stats()
				if tt.ok {
					if r.Status != http.StatusOK || st.Unauthorized != 0 {
						t.Errorf("got %d %s, want 200", r.Status, r.Raw)
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
		r := api(t, c, tt.method, "https://www.zohoapis.com/crm/v8/"+tt.module, access, body)
		if tt.ok && r.Status/100 != 2 || !tt.ok && (r.Status != http.StatusUnauthorized || r.Raw != scopeMismatch) {
			t.Errorf("%v %s %s: got %d %s", tt.scopes, tt.method, tt.module, r.Status, r.Raw)
		}
	}
}
