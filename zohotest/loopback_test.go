package zohotest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth/zohotest"
)

// loopbackClient is a client with its own connections, closed at the end.
func loopbackClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestLoopbackTwoDCs(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	t.Cleanup(s.Close)
	s.Start()
	c := loopbackClient(t)
	us, eu := s.DC("us"), s.DC("eu")
	if !strings.HasPrefix(us.AccountsURL, "http://127.0.0.1:") || us.APIDomain != us.AccountsURL || eu.AccountsURL == us.AccountsURL {
		t.Fatalf("DCs after Start: %+v %+v", us, eu)
	}

	r := exchange(t, c, us, s.NewGrantCode("us"))
	wantToken(t, r)
	if r.str("api_domain") != us.APIDomain {
		t.Errorf("api_domain = %q, want %q", r.str("api_domain"), us.APIDomain)
	}
	access := r.str("access_token")
	if got := api(t, c, "POST", r.str("api_domain")+"/crm/v8/Leads", access, `{"data":[{"Last_Name":"Ng"}]}`); got.Status != http.StatusCreated {
		t.Errorf("API over loopback: %d %s", got.Status, got.Raw)
	}
	if got := api(t, c, "GET", eu.APIDomain+"/crm/v8/Leads?fields=Last_Name", access, ""); got.Raw != invalidToken {
		t.Errorf("US token at the EU API: %d %s", got.Status, got.Raw)
	}
	wantTokenError(t, exchange(t, c, eu, s.NewGrantCode("us")), "invalid_code")
	wantTokenError(t, refresh(t, c, eu, r.str("refresh_token")), "invalid_client")

	// The in-memory transport keeps serving the real host names.
	mem := &http.Client{Transport: s.Transport()}
	if got := exchange(t, mem, zohotest.DC{AccountsURL: "https://accounts.zoho.eu"}, s.NewGrantCode("eu")); got.str("api_domain") != "https://www.zohoapis.eu" {
		t.Errorf("in-memory after Start: %s", got.Raw)
	}

	s.SetFault(zohotest.Fault{Drop: true, Count: 1})
	if resp, err := c.PostForm(us.AccountsURL+"/oauth/v2/token", form("grant_type", "refresh_token", "refresh_token", r.str("refresh_token"))); err == nil {
		resp.Body.Close()
		t.Error("dropped loopback call returned a response")
	}
	wantToken(t, refresh(t, c, us, r.str("refresh_token")))
}

func TestLoopbackCloseEndsLatency(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	s.Start()
	c := loopbackClient(t)
	s.SetFault(zohotest.Fault{Latency: time.Hour})
	errc := make(chan error, 1)
	go func() {
		resp, err := c.PostForm(s.DC("us").AccountsURL+"/oauth/v2/token", form("grant_type", "refresh_token"))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for s.Stats().TokenCalls["refresh_token"] == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	s.Close()
	if err := <-errc; err == nil {
		t.Error("a call cut off by Close returned a response")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestHandlerInOwnServer(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	t.Cleanup(s.Close)
	ts := httptest.NewTLSServer(s.Handler("eu"))
	t.Cleanup(ts.Close)
	c := ts.Client()
	r := exchange(t, c, zohotest.DC{AccountsURL: ts.URL}, s.NewGrantCode("eu"))
	wantToken(t, r)
	if r.str("api_domain") != ts.URL {
		t.Errorf("api_domain = %q, want the serving server %q", r.str("api_domain"), ts.URL)
	}
	if got := api(t, c, "GET", ts.URL+"/crm/v8/Leads?fields=Last_Name", r.str("access_token"), ""); got.Status != http.StatusNoContent {
		t.Errorf("API: %d %s", got.Status, got.Raw)
	}
}

func TestStartTwicePanics(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	defer s.Close()
	s.Start()
	defer func() {
		if recover() == nil {
			t.Error("second Start did not panic")
		}
	}()
	s.Start()
}
