package zohoauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
	"github.com/jarcoal/httpmock"
)

// polls returns the polls among the requests rec sent.
func polls(rec *wireLog) []wireRequest {
	var out []wireRequest
	for _, c := range rec.sent() {
		if c.url.Path == "/oauth/v3/device/token" {
			out = append(out, c)
		}
	}
	return out
}

// pollTimes returns when each poll was sent, counted from start.
func pollTimes(rec *wireLog, start time.Time) []time.Duration {
	var out []time.Duration
	for _, p := range polls(rec) {
		out = append(out, p.at.Sub(start))
	}
	return out
}

func secs(s ...float64) []time.Duration {
	var out []time.Duration
	for _, v := range s {
		out = append(out, time.Duration(v*float64(time.Second)))
	}
	return out
}

func wantTimes(t *testing.T, got, want []time.Duration) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("polls at %v, want %v", got, want)
	}
}

// A device code in Zoho's shape, and the client secret: neither may show up
// in any error or printed value.
const testDeviceCode = "1004.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"

// deviceScript answers the device code request with code, and the polls
// with polls in order (the last one repeats), at any accounts server. A
// poll answer "HTTP 503" answers that status with an HTML page.
type deviceScript struct {
	code  string
	polls []string
}

func (s *deviceScript) transport() http.RoundTripper {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder("POST", "/oauth/v3/device/code", httpmock.NewStringResponder(200, s.code))
	var answers httpmock.Responder
	for _, answer := range s.polls {
		a := httpmock.NewStringResponder(200, answer)
		if status, ok := strings.CutPrefix(answer, "HTTP "); ok {
			var code int
			fmt.Sscan(status, &code)
			a = httpmock.NewStringResponder(code, "<html><body>Service Unavailable</body></html>").
				HeaderSet(http.Header{"Content-Type": {"text/html"}})
		}
		if answers == nil {
			answers = a
		} else {
			answers = answers.Then(a)
		}
	}
	if answers != nil {
		mt.RegisterResponder("POST", "/oauth/v3/device/token", answers)
	}
	mt.RegisterNoResponder(httpmock.NewStringResponder(http.StatusNotFound, "404 page not found"))
	return mt
}

func codeAnswer(extra string) string {
	return `{"user_code":"BCDF-GHJK","device_code":"` + testDeviceCode + `","verification_url":"https://accounts.zoho.com/oauth/v3/device"` + extra + `}`
}

const deviceTokenAnswer = `{"access_token":"1000.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","refresh_token":"1000.cccccccccccccccccccccccccccccccc.dddddddddddddddddddddddddddddddd","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600,"scope":"ZohoCRM.modules.ALL"}`

// scriptedConfig is a Config whose token calls the script answers,
// recorded, for the accounts server at accounts.
func scriptedConfig(script *deviceScript, accounts string) (*zohoauth.Config, *wireLog) {
	rec := &wireLog{next: script.transport()}
	return &zohoauth.Config{
		ClientID: "1004.CLIENT", ClientSecret: testClientSecret, AccountsURL: accounts,
		Scopes:     []string{"ZohoCRM.modules.ALL"},
		HTTPClient: &http.Client{Transport: rec},
	}, rec
}

// noSecretIn fails the test if s holds the device code or client secret.
func noSecretIn(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testDeviceCode, testClientSecret, "0123456789abcdef0123456789abcdef"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s holds a secret: %q", what, s)
		}
	}
}

func TestDevicePollAnswers(t *testing.T) {
	pending := `{"error":"authorization_pending"}`
	slow := `{"error":"slow_down"}`
	cases := []struct {
		name      string
		polls     []string
		want      []error // errors.Is targets; nil for a token
		notWant   []error
		wantTimes []time.Duration
	}{
		{"approved after two pending", []string{pending, pending, deviceTokenAnswer}, nil, nil, secs(30, 60, 90)},
		{"slow_down adds 5 s each time", []string{slow, pending, slow, deviceTokenAnswer}, nil, nil, secs(30, 65, 100, 140)},
		{"denied", []string{pending, `{"error":"access_denied"}`},
			[]error{zohoauth.ErrDeviceAccessDenied, zohoauth.ErrReauthRequired}, []error{zohoauth.ErrThrottled, zohoauth.ErrDeviceCodeExpired}, secs(30, 60)},
		{"expired", []string{`{"error":"expired"}`},
			[]error{zohoauth.ErrDeviceCodeExpired, zohoauth.ErrReauthRequired}, []error{zohoauth.ErrDeviceAccessDenied}, secs(30)},
		{"throttled is not a denial", []string{`{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`},
			[]error{zohoauth.ErrThrottled}, []error{zohoauth.ErrDeviceAccessDenied}, secs(30)},
		{"invalid client", []string{`{"error":"invalid_client"}`},
			[]error{zohoauth.ErrReauthRequired}, []error{zohoauth.ErrDeviceAccessDenied, zohoauth.ErrDeviceCodeExpired}, secs(30)},
		{"unknown error ends the wait", []string{`{"error":"something_new"}`}, nil, []error{zohoauth.ErrReauthRequired}, secs(30)},
		{"a 503 is polled again at the next interval, not retried", []string{"HTTP 503", pending, deviceTokenAnswer}, nil, nil, secs(30, 60, 90)},
		{"three polls without an answer end the wait", []string{"HTTP 503", "<html>proxy error</html>", "HTTP 502"},
			[]error{zohoauth.ErrTransient}, nil, secs(30, 60, 90)},
		{"the local expiry ends the wait", []string{pending}, []error{zohoauth.ErrDeviceCodeExpired}, nil, secs(30, 60, 90, 120, 150, 180, 210, 240, 270)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				script := &deviceScript{code: codeAnswer(`,"expires_in":300,"interval":30`), polls: tc.polls}
				cfg, rec := scriptedConfig(script, "")
				start := time.Now()
				da, err := cfg.DeviceAuth(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				tok, err := cfg.DeviceAccessToken(t.Context(), da)
				wantTimes(t, pollTimes(rec, start), tc.wantTimes)
				if tc.want == nil && tc.notWant == nil {
					if err != nil {
						t.Fatalf("DeviceAccessToken: %v", err)
					}
					if tok.RefreshToken == "" || tok.APIDomain != "https://www.zohoapis.com" || tok.AccountsServer != zohoauth.US.AccountsURL || tok.Expiry.IsZero() {
						t.Errorf("token: %v", tok)
					}
					return
				}
				if err == nil {
					t.Fatalf("got a token, want an error")
				}
				for _, target := range tc.want {
					if !errors.Is(err, target) {
						t.Errorf("error %q does not match %v", err, target)
					}
				}
				for _, target := range tc.notWant {
					if errors.Is(err, target) {
						t.Errorf("error %q matches %v", err, target)
					}
				}
				var ze *zohoauth.Error
				if !errors.As(err, &ze) {
					t.Errorf("error %T is not an *Error", err)
				}
				noSecretIn(t, "error", err.Error())
				noSecretIn(t, "%+v of the error", fmt.Sprintf("%+v %#v", err, err))
			})
		})
	}
}

func TestDevicePollsSendTheClientSecretOnceAndNoRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		script := &deviceScript{code: codeAnswer(""), polls: []string{"HTTP 502", deviceTokenAnswer}}
		cfg, rec := scriptedConfig(script, "")
		da, err := cfg.DeviceAuth(t.Context(), zohoauth.PromptConsent(), zohoauth.RequestScopes("ZohoCRM.modules.ALL", "ZohoCRM.settings.READ"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.DeviceAccessToken(t.Context(), da); err != nil {
			t.Fatal(err)
		}
		calls := rec.sent()
		if len(calls) != 3 {
			t.Fatalf("%d requests, want the code request and 2 polls: %+v", len(calls), calls)
		}
		start := calls[0].form()
		for k, want := range map[string]string{"client_id": "1004.CLIENT", "grant_type": "device_request", "access_type": "offline", "prompt": "consent", "scope": "ZohoCRM.modules.ALL,ZohoCRM.settings.READ", "client_secret": ""} {
			if got := start.Get(k); got != want {
				t.Errorf("device code request %s = %q, want %q", k, got, want)
			}
		}
		for _, p := range calls[1:] {
			if form := p.form(); form.Get("grant_type") != "device_token" || form.Get("code") != testDeviceCode || form.Get("client_secret") != testClientSecret {
				t.Errorf("poll form: %v", form)
			}
		}
	})
}

func TestDeviceIntervalAndExpiry(t *testing.T) {
	cases := []struct {
		name      string
		accounts  string
		extra     string
		interval  time.Duration // as reported in DeviceAuthResponse
		lifetime  time.Duration
		wantTimes []time.Duration
	}{
		{"seconds", "", `,"interval":45,"expires_in":300`, 45 * time.Second, 5 * time.Minute, secs(45, 90)},
		{"milliseconds", "", `,"interval":45000,"expires_in":300000`, 45 * time.Second, 5 * time.Minute, secs(45, 90)},
		{"as strings", "", `,"interval":"40","expires_in":"600"`, 40 * time.Second, 10 * time.Minute, secs(40, 80)},
		{"missing", "", ``, 30 * time.Second, 5 * time.Minute, secs(30, 60)},
		{"zero and negative", "", `,"interval":0,"expires_in":-1`, 30 * time.Second, 5 * time.Minute, secs(30, 60)},
		{"below Zoho's 30 s", "", `,"interval":1`, time.Second, 5 * time.Minute, secs(30, 60)},
		{"below 30 s in milliseconds", zohoauth.EU.AccountsURL, `,"interval":1000`, time.Second, 5 * time.Minute, secs(30, 60)},
		{"an hour is capped", "", `,"expires_in":3600`, 30 * time.Second, 30 * time.Minute, secs(30, 60)},
		{"loopback may ask for less", "http://127.0.0.1:8999", `,"interval":2`, 2 * time.Second, 5 * time.Minute, secs(2, 4)},
		{"localhost in milliseconds", "http://localhost:8999", `,"interval":1500`, 1500 * time.Millisecond, 5 * time.Minute, secs(1.5, 3)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				code := codeAnswer(tc.extra)
				if strings.HasPrefix(tc.accounts, "http:") {
					code = strings.Replace(code, "https://accounts.zoho.com", tc.accounts, 1)
				}
				script := &deviceScript{code: code, polls: []string{`{"error":"authorization_pending"}`, deviceTokenAnswer}}
				cfg, rec := scriptedConfig(script, tc.accounts)
				start := time.Now()
				da, err := cfg.DeviceAuth(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if da.Interval != tc.interval || da.Expiry.Sub(start) != tc.lifetime {
					t.Errorf("interval %v, lifetime %v; want %v, %v", da.Interval, da.Expiry.Sub(start), tc.interval, tc.lifetime)
				}
				if _, err := cfg.DeviceAccessToken(t.Context(), da); err != nil {
					t.Fatal(err)
				}
				wantTimes(t, pollTimes(rec, start), tc.wantTimes)
			})
		})
	}
}

// A caller cannot make the library poll Zoho faster by editing the
// response: the 30 s floor depends on where the poll goes.
func TestDeviceIntervalFieldCannotSpeedUpZoho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		script := &deviceScript{code: codeAnswer(""), polls: []string{`{"error":"authorization_pending"}`, deviceTokenAnswer}}
		cfg, rec := scriptedConfig(script, zohoauth.EU.AccountsURL)
		start := time.Now()
		da, err := cfg.DeviceAuth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		da.Interval = time.Millisecond
		da.AccountsServer = "http://127.0.0.1:1" // not Zoho's, not the Config's: ignored
		if _, err := cfg.DeviceAccessToken(t.Context(), da); err != nil {
			t.Fatal(err)
		}
		wantTimes(t, pollTimes(rec, start), secs(30, 60))
		for _, p := range polls(rec) {
			if p.url.Host != "accounts.zoho.eu" {
				t.Errorf("poll went to %s, want accounts.zoho.eu", p.url.Host)
			}
		}
	})
}

func TestDeviceAuthRefusesBadAnswers(t *testing.T) {
	cases := []struct{ name, accounts, answer, want string }{
		{"Zoho error", "", `{"error":"invalid_client"}`, `"invalid_client"`},
		{"no device code", "", `{"user_code":"BCDF","verification_url":"https://accounts.zoho.com/oauth/v3/device"}`, "without a device_code"},
		{"not JSON", "", `<html>`, "JSON object"},
		{"no user code", "", strings.Replace(codeAnswer(""), `"BCDF-GHJK"`, `""`, 1), "user_code"},
		{"control characters in the user code", "", strings.Replace(codeAnswer(""), `"BCDF-GHJK"`, `"BCDF\u001b[2J"`, 1), "user_code"},
		{"javascript page", "", strings.Replace(codeAnswer(""), "https://accounts.zoho.com/oauth/v3/device", "javascript:alert(1)", 1), "verification_url"},
		{"file page", "", strings.Replace(codeAnswer(""), "https://accounts.zoho.com/oauth/v3/device", "file:///etc/passwd", 1), "verification_url"},
		{"plain http from Zoho", "", strings.Replace(codeAnswer(""), "https://", "http://", 1), "not https"},
		{"spaces in the page", "", strings.Replace(codeAnswer(""), "/oauth/v3/device", "/a b", 1), "verification_url"},
		{"device code echoed in the error", "", `{"error":"bad ` + testDeviceCode + `","device_code":"` + testDeviceCode + `"}`, "REDACTED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := scriptedConfig(&deviceScript{code: tc.answer}, tc.accounts)
			da, err := cfg.DeviceAuth(t.Context())
			if err == nil {
				t.Fatalf("DeviceAuth accepted %s: %v", tc.answer, da)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			noSecretIn(t, "error", err.Error())
		})
	}
	cfg, rec := scriptedConfig(&deviceScript{code: codeAnswer("")}, "")
	cfg.Scopes = nil
	if _, err := cfg.DeviceAuth(t.Context()); err == nil || !strings.Contains(err.Error(), "RequestScopes") {
		t.Errorf("no scopes: %v", err)
	}
	if len(rec.sent()) != 0 {
		t.Errorf("a request without scopes was sent")
	}
}

func TestDeviceAuthResponseHidesTheDeviceCode(t *testing.T) {
	cfg, _ := scriptedConfig(&deviceScript{code: codeAnswer("")}, "")
	da, err := cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if da.DeviceCode != testDeviceCode || da.UserCode != "BCDF-GHJK" {
		t.Fatalf("response: %v", da)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("login", "da", da, "value", *da)
	for _, out := range []string{fmt.Sprint(da), fmt.Sprintf("%v %+v %#v %s %q %x", *da, *da, *da, *da, *da, *da), da.String(), logged.String()} {
		noSecretIn(t, "printed response", out)
		if !strings.Contains(out, "BCDF-GHJK") {
			t.Errorf("printed response lacks the user code: %s", out)
		}
	}
}

// The fake's whole flow in memory: Zoho's host names, so the 30 s floor
// holds even though the fake announces 1 s.
func newDeviceFake(t *testing.T) (*zohotest.Server, *zohoauth.Config, *wireLog) {
	s := newZoho(t, zohotest.Options{ClientSecret: testClientSecret, Login: zohotest.LoginOptions{DeviceInterval: time.Second}})
	rec := &wireLog{next: s.Transport()}
	cfg := &zohoauth.Config{
		ClientID: "test-client-id", ClientSecret: testClientSecret,
		Scopes: []string{"ZohoCRM.modules.ALL"}, HTTPClient: &http.Client{Transport: rec},
	}
	return s, cfg, rec
}

// startFakeLogin starts a device login with the in-memory fake and returns
// when it started.
func startFakeLogin(t *testing.T, opts ...zohoauth.AuthOption) (*zohotest.Server, *zohoauth.Config, *wireLog, *zohoauth.DeviceAuthResponse, time.Time) {
	t.Helper()
	s, cfg, rec := newDeviceFake(t)
	start := time.Now()
	da, err := cfg.DeviceAuth(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg, rec, da, start
}

func TestDeviceLoginWithTheFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg, rec, da, start := startFakeLogin(t, zohoauth.RequestScopes("ZohoCRM.modules.ALL", "ZohoCRM.settings.READ"))
		if da.VerificationURL != "https://accounts.zoho.com/oauth/v3/device" || da.Interval != time.Second || da.AccountsServer != zohoauth.US.AccountsURL {
			t.Errorf("response: %v", da)
		}
		go func() {
			time.Sleep(75 * time.Second)
			if err := s.ApproveDevice(da.UserCode, ""); err != nil {
				t.Error(err)
			}
		}()
		tok, err := cfg.DeviceAccessToken(t.Context(), da)
		if err != nil {
			t.Fatal(err)
		}
		wantTimes(t, pollTimes(rec, start), secs(30, 60, 90))
		if tok.RefreshToken == "" || tok.APIDomain != "https://www.zohoapis.com" || tok.AccountsServer != zohoauth.US.AccountsURL ||
			tok.Scope != "ZohoCRM.modules.ALL ZohoCRM.settings.READ" || time.Until(tok.Expiry) != time.Hour {
			t.Errorf("token: %v", tok)
		}

		// A normal token: a Source over a store refreshes it at its data center.
		store := &zohoauth.MemoryStore{}
		if err := store.Save(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		src := zohoauth.NewSource(cfg, zohoauth.WithStore(store))
		defer src.Close()
		fresh, err := src.Refresh(t.Context())
		if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken != tok.RefreshToken {
			t.Errorf("refresh of the device token: %v, %v", fresh, err)
		}
		if n := s.Stats().TokenCalls["refresh_token"]; n != 1 {
			t.Errorf("%d refreshes at the fake, want 1", n)
		}
	})
}

func TestDeviceTokenInAFileStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg, _, da, _ := startFakeLogin(t)
		if err := s.ApproveDevice(strings.ToLower(strings.ReplaceAll(da.UserCode, "-", " ")), "eu"); err != nil {
			t.Fatal(err)
		}
		tok, err := cfg.DeviceAccessToken(t.Context(), da)
		if err != nil {
			t.Fatal(err)
		}
		store := zohoauth.NewFileStore(filepath.Join(t.TempDir(), "token.json"))
		if err := store.Save(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		back, err := store.Load(t.Context())
		if err != nil || back.RefreshToken != tok.RefreshToken || back.AccountsServer != zohoauth.EU.AccountsURL || back.APIDomain != "https://www.zohoapis.eu" {
			t.Errorf("loaded %v, %v", back, err)
		}
	})
}

func TestDeviceOtherDC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg, rec, da, start := startFakeLogin(t)
		go func() {
			time.Sleep(40 * time.Second)
			if err := s.ApproveDevice(da.UserCode, "eu"); err != nil {
				t.Error(err)
			}
		}()
		tok, err := cfg.DeviceAccessToken(t.Context(), da)
		if err != nil {
			t.Fatal(err)
		}
		wantTimes(t, pollTimes(rec, start), secs(30, 60, 90))
		var hosts []string
		for _, p := range polls(rec) {
			hosts = append(hosts, p.url.Host)
		}
		if got := strings.Join(hosts, " "); got != "accounts.zoho.com accounts.zoho.com accounts.zoho.eu" {
			t.Errorf("polls went to %s", got)
		}
		if tok.AccountsServer != zohoauth.EU.AccountsURL || tok.APIDomain != "https://www.zohoapis.eu" || tok.RefreshToken == "" {
			t.Errorf("token: %v", tok)
		}
		// The refresh goes to the user's data center, where the token lives.
		if _, err := cfg.Refresh(t.Context(), tok); err != nil {
			t.Errorf("refresh at EU: %v", err)
		}
	})
}

func TestDeviceOtherDCToAnUnknownLocation(t *testing.T) {
	for _, loc := range []string{"xx", "evil.example", "accounts.zoho.eu.evil.example", "127.0.0.1", "", "e\u0075\u0131"} {
		t.Run(loc, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				script := &deviceScript{code: codeAnswer(""), polls: []string{`{"error":"other_dc","user_location":"` + loc + `"}`, deviceTokenAnswer}}
				cfg, rec := scriptedConfig(script, "")
				da, err := cfg.DeviceAuth(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				_, err = cfg.DeviceAccessToken(t.Context(), da)
				if !errors.Is(err, zohoauth.ErrUnknownDataCenter) || errors.Is(err, zohoauth.ErrReauthRequired) {
					t.Errorf("error %v, want ErrUnknownDataCenter", err)
				}
				if sent := rec.sent(); len(sent) != 2 {
					t.Errorf("%d requests after other_dc to %q, want none", len(sent)-2, loc)
				}
				for _, c := range rec.sent() {
					if c.url.Host != "accounts.zoho.com" {
						t.Errorf("a request went to %s", c.url.Host)
					}
				}
			})
		})
	}
}

func TestDeviceOtherDCLoopIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Every data center says the user lives in the next one.
		script := &deviceScript{code: codeAnswer("")}
		for _, loc := range []string{"eu", "in", "jp", "au", "us"} {
			script.polls = append(script.polls, `{"error":"other_dc","user_location":"`+loc+`"}`)
		}
		cfg, rec := scriptedConfig(script, "")
		da, err := cfg.DeviceAuth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		_, err = cfg.DeviceAccessToken(t.Context(), da)
		if err == nil || errors.Is(err, zohoauth.ErrUnknownDataCenter) {
			t.Errorf("error %v, want the moves to end", err)
		}
		if got := len(polls(rec)); got != 3 {
			t.Errorf("%d polls, want 3", got)
		}
	})
}

func TestDeviceWaitEndsWithTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg, rec, da, start := startFakeLogin(t)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(45*time.Second, cancel)
		_, err := cfg.DeviceAccessToken(ctx, da)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		if d := time.Since(start); d != 45*time.Second {
			t.Errorf("returned after %v, want 45s", d)
		}
		wantTimes(t, pollTimes(rec, start), secs(30))

		// The login is still there: a new wait picks it up, a full
		// interval after it starts.
		if err := s.ApproveDevice(da.UserCode, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.DeviceAccessToken(t.Context(), da); err != nil {
			t.Fatal(err)
		}
		wantTimes(t, pollTimes(rec, start), secs(30, 75))

		ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		da, err = cfg.DeviceAuth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.DeviceAccessToken(ctx, da); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestDeviceOneWaitAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg, rec, da, start := startFakeLogin(t)
		done := make(chan error)
		go func() {
			_, err := cfg.DeviceAccessToken(t.Context(), da)
			done <- err
		}()
		synctest.Wait()
		copied := *da
		if _, err := cfg.DeviceAccessToken(t.Context(), &copied); err == nil || !strings.Contains(err.Error(), "already") {
			t.Errorf("second wait: %v", err)
		}
		time.Sleep(50 * time.Second)
		if err := s.ApproveDevice(da.UserCode, ""); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		wantTimes(t, pollTimes(rec, start), secs(30, 60))
	})
}

func TestDeviceDeniedAndExpiredWithTheFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg, _, da, _ := startFakeLogin(t)
		if err := s.DenyDevice(da.UserCode); err != nil {
			t.Fatal(err)
		}
		if err := s.ApproveDevice(da.UserCode, ""); err == nil {
			t.Error("a denied code could be approved")
		}
		if _, err := cfg.DeviceAccessToken(t.Context(), da); !errors.Is(err, zohoauth.ErrDeviceAccessDenied) {
			t.Errorf("denied: %v", err)
		}

		da, err := cfg.DeviceAuth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		// A server whose clock runs ahead says expired before our own
		// deadline does.
		da.Expiry = da.Expiry.Add(time.Minute)
		if _, err := cfg.DeviceAccessToken(t.Context(), da); !errors.Is(err, zohoauth.ErrDeviceCodeExpired) {
			t.Errorf("expired: %v", err)
		}
		if d := time.Since(start); d != 300*time.Second {
			t.Errorf("expired after %v, want at the poll at 5m", d)
		}
		if err := s.ApproveDevice(da.UserCode, ""); err == nil {
			t.Error("an expired code could be approved")
		}
	})
}
