package zohotest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth/zohotest"
)

// Script answers the next token calls one by one, then the endpoint works
// normally; every call is counted and recorded with its arrival time.
func TestScriptedTokenReplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newServer(t, zohotest.Options{})
		_, rt := s.IssueToken("us")
		s.Script(
			zohotest.Fault{Status: 503, Header: http.Header{"Retry-After": {"2"}}, Body: "busy"},
			zohotest.Fault{},
			zohotest.Fault{Body: `{"error":"invalid_code"}`},
			zohotest.Fault{Latency: 3 * time.Second, Status: 502},
		)
		start := time.Now()
		r := refresh(t, c, s.DC("us"), rt)
		if r.Status != 503 || r.Raw != "busy" || r.Header.Get("Retry-After") != "2" {
			t.Errorf("call 1: %d %q %v, want the scripted 503 with Retry-After", r.Status, r.Raw, r.Header)
		}
		time.Sleep(2 * time.Second)
		wantToken(t, refresh(t, c, s.DC("us"), rt))                      // a zero Fault: a normal answer
		wantTokenError(t, refresh(t, c, s.DC("us"), rt), "invalid_code") // the refresh token still works
		if r := refresh(t, c, s.DC("us"), rt); r.Status != 502 {
			t.Errorf("call 4: %d", r.Status)
		}
		wantToken(t, refresh(t, c, s.DC("us"), rt)) // the script is used up

		st := s.Stats()
		var at []time.Duration
		var statuses []int
		for _, tr := range st.TokenRequests {
			at = append(at, tr.At.Sub(start))
			statuses = append(statuses, tr.Status)
			if tr.Location != "us" || tr.Path != "/oauth/v2/token" || tr.Form.Get("refresh_token") != rt || len(tr.Query) != 0 {
				t.Errorf("recorded %+v", tr)
			}
		}
		if want := []time.Duration{0, 2 * time.Second, 2 * time.Second, 2 * time.Second, 5 * time.Second}; !slices.Equal(at, want) {
			t.Errorf("arrivals %v, want %v", at, want)
		}
		if want := []int{503, 200, 200, 502, 200}; !slices.Equal(statuses, want) {
			t.Errorf("statuses %v, want %v", statuses, want)
		}
		if st.TokenCalls["refresh_token"] != 5 {
			t.Errorf("TokenCalls = %v", st.TokenCalls)
		}
	})
}

// A script comes before a standing fault, a new script replaces the old
// one, and Script() clears it.
func TestScriptAndFault(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	_, rt := s.IssueToken("us")
	s.SetFault(zohotest.Fault{Status: 500, Header: http.Header{"X-Zoho": {"down"}}})
	s.Script(zohotest.Fault{Status: 429}, zohotest.Fault{Status: 429})
	s.Script(zohotest.Fault{Status: 418})
	var got []int
	for range 3 {
		r := refresh(t, c, s.DC("us"), rt)
		got = append(got, r.Status)
		if r.Status == 500 && r.Header.Get("X-Zoho") != "down" {
			t.Errorf("the standing fault lost its header: %v", r.Header)
		}
	}
	if !slices.Equal(got, []int{418, 500, 500}) {
		t.Errorf("statuses %v, want the script's 418 then the standing 500s", got)
	}
	s.SetFault(zohotest.Fault{})
	s.Script(zohotest.Fault{Status: 500})
	s.Script()
	wantToken(t, refresh(t, c, s.DC("us"), rt))
}

// A header on a normal answer is ignored: only faulted answers carry it.
func TestFaultHeaderOnlyOnFaults(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	_, rt := s.IssueToken("us")
	s.Script(zohotest.Fault{Header: http.Header{"Retry-After": {"9"}}}, zohotest.Fault{Drop: true, Header: http.Header{"Retry-After": {"9"}}})
	r := refresh(t, c, s.DC("us"), rt)
	wantToken(t, r)
	if r.Header.Get("Retry-After") != "" {
		t.Errorf("a normal answer carried %v", r.Header)
	}
	resp, err := c.PostForm("https://accounts.zoho.com/oauth/v2/token", form("grant_type", "refresh_token", "refresh_token", rt))
	if err == nil {
		resp.Body.Close()
		t.Error("the scripted drop answered")
	}
	if st := s.Stats(); st.TokenRequests[1].Status != 0 || st.TokenRequests[0].Status != 200 {
		t.Errorf("statuses of a normal and a dropped call: %d, %d; want 200, 0", st.TokenRequests[0].Status, st.TokenRequests[1].Status)
	}
}

// TokenRequests tells parameters sent in the body from those in the query
// string, and records revoke calls; Stats hands out copies.
func TestTokenRequestsRecorded(t *testing.T) {
	s, c := newServer(t, zohotest.Options{})
	code := s.NewGrantCode("eu")
	v := form("grant_type", "authorization_code", "code", code)
	req, _ := http.NewRequest(http.MethodPost, "https://accounts.zoho.eu/oauth/v2/token?"+v.Encode(), nil)
	wantToken(t, do(t, c, req))
	req, _ = http.NewRequest(http.MethodPost, "https://accounts.zoho.eu/oauth/v2/token/revoke?token=1000.x.y", nil)
	do(t, c, req)
	st := s.Stats()
	if len(st.TokenRequests) != 2 {
		t.Fatalf("TokenRequests = %+v", st.TokenRequests)
	}
	first, second := st.TokenRequests[0], st.TokenRequests[1]
	if first.Location != "eu" || len(first.Form) != 0 || first.Query.Get("code") != code || first.Query.Get("client_secret") != "test-client-secret" {
		t.Errorf("exchange recorded as %+v", first)
	}
	if second.Path != "/oauth/v2/token/revoke" || !slices.Equal(second.Query["token"], []string{"1000.x.y"}) {
		t.Errorf("revoke recorded as %+v", second)
	}
	st.TokenRequests[0].Query.Set("code", "changed")
	if again := s.Stats(); again.TokenRequests[0].Query.Get("code") != code {
		t.Error("Stats shares TokenRequests with the server")
	}
	// A body form is recorded as Form.
	postToken(t, c, "https://accounts.zoho.eu", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}})
	if last := s.Stats().TokenRequests[2]; last.Form.Get("refresh_token") != "r" || len(last.Query) != 0 || !strings.HasPrefix(last.Path, "/oauth/") {
		t.Errorf("form call recorded as %+v", last)
	}
}
