package zohotest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-zoho/zohoauth/zohotest"
)

// tokenCall posts params to Zoho's token endpoint and prints the answer's
// status and the names of its fields (values are random).
func tokenCall(c *http.Client, accountsURL string, params url.Values) map[string]any {
	resp, err := c.PostForm(accountsURL+"/oauth/v2/token", params)
	if err != nil {
		fmt.Println("error:", err)
		return nil
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return m
}

// Exchange a grant code with plain net/http, in memory, and call the API
// with the access token.
func Example() {
	s := zohotest.New(zohotest.Options{})
	defer s.Close()
	c := &http.Client{Transport: s.Transport()}

	code := s.NewGrantCode("eu", "ZohoCRM.modules.leads.ALL")
	tok := tokenCall(c, "https://accounts.zoho.eu", url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {"test-client-id"},
		"client_secret": {"test-client-secret"},
		"code":          {code},
	})
	fmt.Println("api_domain:", tok["api_domain"])
	fmt.Println("expires_in:", tok["expires_in"], "scope:", tok["scope"])

	req, _ := http.NewRequest("POST", tok["api_domain"].(string)+"/crm/v8/Leads",
		strings.NewReader(`{"data":[{"Last_Name":"Ng"}]}`))
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok["access_token"].(string))
	resp, _ := c.Do(req)
	var created struct {
		Data []struct {
			Code    string
			Details struct{ ID string }
		}
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, created.Data[0].Code, created.Data[0].Details.ID)

	for _, path := range []string{"/crm/v8/Leads?fields=Last_Name", "/crm/v8/Contacts?fields=Last_Name"} {
		req, _ = http.NewRequest("GET", tok["api_domain"].(string)+path, nil)
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok["access_token"].(string))
		resp, _ = c.Do(req)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}

	// Output:
	// api_domain: https://www.zohoapis.eu
	// expires_in: 3600 scope: ZohoCRM.modules.leads.ALL
	// 201 SUCCESS 5725767000000400001
	// 200 {"data":[{"Last_Name":"Ng","id":"5725767000000400001"}],"info":{"per_page":200,"count":1,"page":1,"more_records":false}}
	// 401 {"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}
}

// The eleventh access token for one refresh token within ten minutes is
// refused, with HTTP 200 like every Zoho token error.
func ExampleOptions_throttle() {
	s := zohotest.New(zohotest.Options{}) // 10 per 10 minutes
	defer s.Close()
	c := &http.Client{Transport: s.Transport()}

	_, refresh := s.IssueToken("us") // the first token
	params := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {"test-client-id"},
		"client_secret": {"test-client-secret"},
		"refresh_token": {refresh},
	}
	for i := 2; i <= 11; i++ {
		tok := tokenCall(c, "https://accounts.zoho.com", params)
		if tok["error"] != nil {
			fmt.Printf("token %d: %s: %s\n", i, tok["error"], tok["error_description"])
		}
	}
	fmt.Println("throttle hits:", s.Stats().ThrottleHits)

	// Output:
	// token 11: Access Denied: You have made too many requests continuously. Please try again after some time.
	// throttle hits: 1
}

// A fault makes the token endpoint fail; Count limits it to the next calls.
func ExampleServer_SetFault() {
	s := zohotest.New(zohotest.Options{})
	defer s.Close()
	c := &http.Client{Transport: s.Transport()}
	_, refresh := s.IssueToken("us")
	params := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {"test-client-id"},
		"client_secret": {"test-client-secret"},
		"refresh_token": {refresh},
	}

	s.SetFault(zohotest.Fault{Status: http.StatusBadGateway, Count: 1})
	resp, _ := c.PostForm("https://accounts.zoho.com/oauth/v2/token", params)
	resp.Body.Close()
	fmt.Println("first call:", resp.Status)

	s.SetFault(zohotest.Fault{Drop: true, Count: 1})
	_, err := c.PostForm("https://accounts.zoho.com/oauth/v2/token", params)
	fmt.Println("second call:", err)

	tok := tokenCall(c, "https://accounts.zoho.com", params)
	fmt.Println("third call has a token:", tok["access_token"] != nil)
	fmt.Println("refresh calls:", s.Stats().TokenCalls["refresh_token"])

	// Output:
	// first call: 502 Bad Gateway
	// second call: Post "https://accounts.zoho.com/oauth/v2/token": zohotest: connection dropped (injected fault)
	// third call has a token: true
	// refresh calls: 3
}

// After Start each data center also listens on loopback; one URL serves
// both the token endpoint and the API.
func ExampleServer_Start() {
	s := zohotest.New(zohotest.Options{})
	defer s.Close()
	s.Start()

	us := s.DC("us")
	tok := tokenCall(http.DefaultClient, us.AccountsURL, url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {"test-client-id"},
		"client_secret": {"test-client-secret"},
		"code":          {s.NewGrantCode("us")},
	})
	fmt.Println(strings.HasPrefix(us.AccountsURL, "http://127.0.0.1:"))
	fmt.Println(tok["api_domain"] == us.APIDomain, us.APIDomain == us.AccountsURL)

	// Output:
	// true
	// true true
}
