package zohotest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth/zohotest"
)

// deviceCode starts a device login at accountsURL.
func deviceCode(t *testing.T, c *http.Client, accountsURL string, v url.Values) reply {
	t.Helper()
	return postTo(t, c, accountsURL+"/oauth/v3/device/code", v)
}

func postTo(t *testing.T, c *http.Client, endpoint string, v url.Values) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

func startDevice(t *testing.T, c *http.Client) reply {
	t.Helper()
	r := deviceCode(t, c, "https://accounts.zoho.com", url.Values{
		"client_id": {"test-client-id"}, "grant_type": {"device_request"},
		"scope": {"ZohoCRM.modules.ALL,ZohoCRM.settings.READ"}, "access_type": {"offline"},
	})
	if r.str("device_code") == "" || r.str("user_code") == "" {
		t.Fatalf("device code answer: %s", r.Raw)
	}
	return r
}

// poll polls the data center at accountsURL for deviceCode.
func poll(t *testing.T, c *http.Client, accountsURL, deviceCode string) reply {
	t.Helper()
	return postTo(t, c, accountsURL+"/oauth/v3/device/token", form("grant_type", "device_token", "code", deviceCode))
}

func TestDeviceCodeAnswer(t *testing.T) {
	cases := []struct {
		name                string
		opts                zohotest.LoginOptions
		interval, expiresIn any
	}{
		{"defaults", zohotest.LoginOptions{}, 30.0, 300.0},
		{"milliseconds", zohotest.LoginOptions{DeviceMillis: true, DeviceInterval: 2 * time.Second}, 2000.0, 300000.0},
		{"no interval", zohotest.LoginOptions{OmitDeviceInterval: true, DeviceCodeLifetime: time.Minute}, nil, 60.0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newServer(t, zohotest.Options{Login: tc.opts})
			r := startDevice(t, c)
			if r.JSON["interval"] != tc.interval || r.JSON["expires_in"] != tc.expiresIn {
				t.Errorf("interval %v, expires_in %v; want %v, %v", r.JSON["interval"], r.JSON["expires_in"], tc.interval, tc.expiresIn)
			}
			if r.str("verification_url") != "https://accounts.zoho.com/oauth/v3/device" || !strings.HasPrefix(r.str("device_code"), "1004.") {
				t.Errorf("answer: %s", r.Raw)
			}
		})
	}

	_, c := newServer(t, zohotest.Options{})
	for _, bad := range []struct {
		v    url.Values
		want string
	}{
		{url.Values{"client_id": {"other"}, "grant_type": {"device_request"}, "scope": {"ZohoCRM.modules.ALL"}}, "invalid_client"},
		{url.Values{"client_id": {"test-client-id"}, "grant_type": {"device_request"}}, "invalid_scope"},
		{url.Values{"client_id": {"test-client-id"}, "grant_type": {"authorization_code"}, "scope": {"ZohoCRM.modules.ALL"}}, "unsupported_grant_type"},
	} {
		wantTokenError(t, deviceCode(t, c, "https://accounts.zoho.com", bad.v), bad.want)
	}
}

func TestDevicePolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newServer(t, zohotest.Options{})
		start := startDevice(t, c)
		code, us := start.str("device_code"), "https://accounts.zoho.com"
		wantTokenError(t, poll(t, c, us, code), "authorization_pending")
		time.Sleep(29 * time.Second)
		wantTokenError(t, poll(t, c, us, code), "slow_down") // two polls within 30 s
		time.Sleep(30 * time.Second)
		wantTokenError(t, poll(t, c, us, code), "authorization_pending")
		wantTokenError(t, postTo(t, c, us+"/oauth/v3/device/token", url.Values{"client_id": {"test-client-id"}, "client_secret": {"wrong"}, "grant_type": {"device_token"}, "code": {code}}), "invalid_client_secret")
		wantTokenError(t, poll(t, c, us, "1004.unknown"), "invalid_code")

		if err := s.ApproveDevice(start.str("user_code"), ""); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)
		r := poll(t, c, us, code)
		wantToken(t, r)
		if r.str("api_domain") != "https://www.zohoapis.com" || !tokenShape.MatchString(r.str("refresh_token")) || r.str("scope") != "ZohoCRM.modules.ALL ZohoCRM.settings.READ" {
			t.Errorf("token answer: %s", r.Raw)
		}
		wantToken(t, refresh(t, c, zohotest.DC{AccountsURL: us}, r.str("refresh_token")))
		time.Sleep(30 * time.Second)
		wantTokenError(t, poll(t, c, us, code), "invalid_code") // collected once
		if got := s.Stats().TokenCalls; got["device_request"] != 1 || got["device_token"] != 7 {
			t.Errorf("token calls: %v", got)
		}
	})
}

func TestDeviceOnlineAccessHasNoRefreshToken(t *testing.T) {
	s, c := newServer(t, zohotest.Options{Login: zohotest.LoginOptions{DeviceInterval: time.Nanosecond}})
	r := deviceCode(t, c, "https://accounts.zoho.com", url.Values{"client_id": {"test-client-id"}, "grant_type": {"device_request"}, "scope": {"ZohoCRM.modules.ALL"}})
	if err := s.ApproveDevice(r.str("user_code"), ""); err != nil {
		t.Fatal(err)
	}
	tok := poll(t, c, "https://accounts.zoho.com", r.str("device_code"))
	wantToken(t, tok)
	if tok.has("refresh_token") {
		t.Errorf("access_type online gave a refresh token: %s", tok.Raw)
	}
}

func TestDeviceOtherDCDenyAndExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := newServer(t, zohotest.Options{})
		us, eu := "https://accounts.zoho.com", "https://accounts.zoho.eu"

		start := startDevice(t, c)
		if err := s.ApproveDevice(start.str("user_code"), "eu"); err != nil {
			t.Fatal(err)
		}
		r := poll(t, c, us, start.str("device_code"))
		if r.str("error") != "other_dc" || r.str("user_location") != "eu" {
			t.Errorf("poll of the issuing DC: %s", r.Raw)
		}
		time.Sleep(30 * time.Second)
		r = poll(t, c, eu, start.str("device_code"))
		wantToken(t, r)
		if r.str("api_domain") != "https://www.zohoapis.eu" {
			t.Errorf("token at EU: %s", r.Raw)
		}
		wantToken(t, refresh(t, c, zohotest.DC{AccountsURL: eu}, r.str("refresh_token")))

		if err := s.ApproveDevice("BCDF-GHJK", ""); err == nil {
			t.Error("an unknown user code was approved")
		}
		if err := s.ApproveDevice(startDevice(t, c).str("user_code"), "mars"); err == nil {
			t.Error("an unknown location was accepted")
		}

		denied := startDevice(t, c)
		wantTokenError(t, poll(t, c, eu, denied.str("device_code")), "invalid_code") // not this DC's
		if err := s.DenyDevice(denied.str("user_code")); err != nil {
			t.Fatal(err)
		}
		wantTokenError(t, poll(t, c, us, denied.str("device_code")), "access_denied")

		late := startDevice(t, c)
		time.Sleep(5 * time.Minute)
		if err := s.ApproveDevice(late.str("user_code"), ""); err == nil {
			t.Error("an expired user code was approved")
		}
		wantTokenError(t, poll(t, c, us, late.str("device_code")), "expired")
	})
}

func TestVerificationPage(t *testing.T) {
	s, c := newServer(t, zohotest.Options{Login: zohotest.LoginOptions{DeviceInterval: time.Nanosecond}})
	start := startDevice(t, c)
	page := "https://accounts.zoho.com/oauth/v3/device"

	r := getPage(t, c, page)
	if r.Status != http.StatusOK || !strings.Contains(r.Raw, `id="user_code"`) {
		t.Fatalf("page: %d %s", r.Status, r.Raw)
	}
	r = postTo(t, c, page, url.Values{"step": {"code"}, "user_code": {"XXXX-XXXX"}})
	if !strings.Contains(r.Raw, `id="error"`) || strings.Contains(r.Raw, `id="accept"`) {
		t.Errorf("a wrong code: %s", r.Raw)
	}
	// The code as a person might type it.
	typed := strings.ToLower(strings.ReplaceAll(start.str("user_code"), "-", ""))
	r = postTo(t, c, page, url.Values{"step": {"code"}, "user_code": {typed}})
	for _, want := range []string{`<li class="scope">ZohoCRM.modules.ALL</li>`, `<li class="scope">ZohoCRM.settings.READ</li>`, `id="accept"`, `id="deny"`, "test-client-id"} {
		if !strings.Contains(r.Raw, want) {
			t.Errorf("consent step lacks %s: %s", want, r.Raw)
		}
	}
	r = postTo(t, c, page, url.Values{"step": {"decide"}, "user_code": {start.str("user_code")}, "decision": {"accept"}, "location": {"us"}})
	if !strings.Contains(r.Raw, "Access granted") {
		t.Errorf("after accept: %s", r.Raw)
	}
	wantToken(t, poll(t, c, "https://accounts.zoho.com", start.str("device_code")))
	r = postTo(t, c, page, url.Values{"step": {"decide"}, "user_code": {start.str("user_code")}, "decision": {"accept"}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("a used code was accepted again: %d", r.Status)
	}

	denied := startDevice(t, c)
	r = postTo(t, c, page, url.Values{"step": {"decide"}, "user_code": {denied.str("user_code")}, "decision": {"deny"}})
	if !strings.Contains(r.Raw, "Access denied") {
		t.Errorf("after deny: %s", r.Raw)
	}
	wantTokenError(t, poll(t, c, "https://accounts.zoho.com", denied.str("device_code")), "access_denied")
	_ = s
}

func TestVerificationPageEscapesScopes(t *testing.T) {
	_, c := newServer(t, zohotest.Options{})
	r := deviceCode(t, c, "https://accounts.zoho.com", url.Values{"client_id": {"test-client-id"}, "grant_type": {"device_request"}, "scope": {"<script>alert(1)</script>"}})
	page := postTo(t, c, "https://accounts.zoho.com/oauth/v3/device", url.Values{"step": {"code"}, "user_code": {r.str("user_code")}})
	if strings.Contains(page.Raw, "<script>") || !strings.Contains(page.Raw, "&lt;script&gt;") {
		t.Errorf("scope not escaped: %s", page.Raw)
	}
}

func getPage(t *testing.T, c *http.Client, u string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}
