package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// fastLogin is a fake whose device login announces a short interval: the
// command, talking to it over loopback, may poll that fast.
var fastLogin = zohotest.Options{Login: zohotest.LoginOptions{DeviceInterval: 20 * time.Millisecond}}

// syncBuffer is a buffer that one goroutine writes while another reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// liveLogin is "zohoauth login" running in the background, in process.
type liveLogin struct {
	f         *fixture
	args      []string
	out, errs syncBuffer
	status    chan int
}

func (f *fixture) startLogin(args ...string) *liveLogin {
	l := &liveLogin{f: f, args: append([]string{"login", "-token-file", f.file, "-accounts-url", f.srv.DC("us").AccountsURL}, args...), status: make(chan int, 1)}
	go func() {
		l.status <- run(l.args, &l.out, &l.errs, func(k string) string { return f.env[k] })
	}()
	return l
}

var userCodeLine = regexp.MustCompile(`(?m)^ +code: (\S+)$`)

// userCode waits until the command has printed the user code.
func (l *liveLogin) userCode(t *testing.T) string {
	t.Helper()
	return waitForCode(t, l.out.String)
}

func waitForCode(t *testing.T, out func() string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := userCodeLine.FindStringSubmatch(out()); m != nil {
			return m[1]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no user code printed: %q", out())
	return ""
}

// wait returns the command's exit status and output, recorded for the
// fixture's secret check.
func (l *liveLogin) wait(t *testing.T) (int, string, string) {
	t.Helper()
	select {
	case status := <-l.status:
		l.f.record(l.args, l.out.String(), l.errs.String())
		return status, l.out.String(), l.errs.String()
	case <-time.After(time.Minute):
		t.Fatalf("login did not end: %q %q", l.out.String(), l.errs.String())
	}
	return 0, "", ""
}

func TestLogin(t *testing.T) {
	f := newFixture(t, fastLogin)
	// A browser that notes the address it was given.
	opened := filepath.Join(t.TempDir(), "opened")
	script := filepath.Join(t.TempDir(), "browser.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$1\" > \""+opened+"\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	f.env["BROWSER"] = "sh " + script

	l := f.startLogin("-scopes", "ZohoCRM.modules.ALL, ZohoCRM.settings.READ")
	code := l.userCode(t)
	for deadline := time.Now().Add(20 * time.Second); f.calls("device_token") == 0; { // a pending poll first
		if time.Now().After(deadline) {
			t.Fatal("no poll")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := f.srv.ApproveDevice(code, ""); err != nil {
		t.Fatal(err)
	}
	status, stdout, stderr := l.wait(t)
	wantStatus(t, "login", status, exitOK, stdout, stderr, "")
	us := f.srv.DC("us").AccountsURL
	for _, want := range []string{us + "/oauth/v3/device\n", "Opened the page in your browser.", "Logged in. Saved the token to " + f.file + ".\n",
		"ZohoCRM.modules.ALL ZohoCRM.settings.READ", "login id:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.HasPrefix(stderr, "Waiting for you to accept in the browser") {
		t.Errorf("stderr does not say it waits: %q", stderr)
	}
	if got, _ := os.ReadFile(opened); string(got) != us+"/oauth/v3/device" {
		t.Errorf("the browser was given %q", got)
	}
	tok := f.stored()
	if tok.RefreshToken == "" || tok.AccountsServer != us || tok.APIDomain != us {
		t.Errorf("stored %v", tok)
	}
	if n := f.calls("device_token"); n < 2 {
		t.Errorf("%d polls, want the pending ones and the last", n)
	}

	// The stored token is a normal one: refresh uses it.
	status, stdout, stderr = f.zoho("refresh")
	wantStatus(t, "refresh after login", status, exitOK, stdout, stderr, "")

	// Status shows who is logged in where, and the same login id.
	status, stdout, stderr = f.zoho("status")
	wantStatus(t, "status", status, exitOK, stdout, stderr, "")
	for _, want := range []string{"accounts:      " + us, "api_domain:    " + us, "login id:      " + loginID(tok)} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, stdout)
		}
	}

	// A second login replaces the first, and says so.
	l = f.startLogin("-scopes", "ZohoCRM.modules.ALL", "-no-browser")
	if err := f.srv.ApproveDevice(l.userCode(t), ""); err != nil {
		t.Fatal(err)
	}
	status, stdout, stderr = l.wait(t)
	wantStatus(t, "second login", status, exitOK, stdout, stderr, "")
	if !strings.Contains(stdout, "it replaces the token stored there before") || strings.Contains(stdout, "Opened") {
		t.Errorf("second login: %s", stdout)
	}
	if again := f.stored(); again.RefreshToken == tok.RefreshToken || loginID(again) == loginID(tok) {
		t.Error("the second login kept the first refresh token")
	}
}

func TestLoginDeniedOrExpiredKeepsTheFile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		deny     bool
		want     string
	}{
		{"denied", 5 * time.Minute, true, "the user denied access on the verification page; run \"zohoauth login\" again"},
		{"expired", 300 * time.Millisecond, false, "expired before it was approved; run \"zohoauth login\" again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := fastLogin
			opts.Login.DeviceCodeLifetime = tc.lifetime
			f := newFixture(t, opts)
			f.exchange()
			before, err := os.ReadFile(f.file)
			if err != nil {
				t.Fatal(err)
			}
			l := f.startLogin("-scopes", "ZohoCRM.modules.ALL", "-no-browser")
			code := l.userCode(t)
			if tc.deny {
				if err := f.srv.DenyDevice(code); err != nil {
					t.Fatal(err)
				}
			}
			status, _, stderr := l.wait(t)
			wantLastLine(t, tc.name, status, exitReauth, stderr, tc.want)
			if after, _ := os.ReadFile(f.file); !bytes.Equal(before, after) {
				t.Error("a failed login changed the token file")
			}
		})
	}
}

// wantLastLine checks the exit status of a login that failed after it
// started waiting, and the error on the last line of stderr.
func wantLastLine(t *testing.T, what string, status, want int, stderr, wantInLast string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if last := lines[len(lines)-1]; status != want || !strings.HasPrefix(last, "zohoauth login: ") || !strings.Contains(last, wantInLast) {
		t.Errorf("%s: status %d, want %d; stderr %q", what, status, want, stderr)
	}
}

// An interrupt while waiting leaves the token file byte for byte as it was,
// and no temporary file beside it.
func TestLoginInterruptLeavesTheFile(t *testing.T) {
	bin := buildBinary(t)
	f := newFixture(t, fastLogin)
	f.exchange()
	before, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, args, stdout, stderr := startBinaryLogin(t, bin, f, "-no-browser")
			waitForCode(t, stdout.String)
			polls := f.calls("device_token")
			for deadline := time.Now().Add(20 * time.Second); f.calls("device_token") < polls+2; { // mid-wait: polling goes on
				if time.Now().After(deadline) {
					t.Fatalf("no polls: %q %q", stdout.String(), stderr.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			f.record(args, stdout.String(), stderr.String())
			if err == nil {
				t.Errorf("exit status 0 after %v", sig)
			}
			wantLastLine(t, sig.String(), cmd.ProcessState.ExitCode(), exitFailure, stderr.String(), "interrupted; nothing was saved and "+f.file+" is as it was")
			if after, _ := os.ReadFile(f.file); !bytes.Equal(before, after) {
				t.Errorf("the token file changed after %v", sig)
			}
			entries, _ := os.ReadDir(filepath.Dir(f.file))
			for _, e := range entries {
				if e.Name() != "token.json" && e.Name() != "token.json.lock" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}
}

// startBinaryLogin starts the built command's login against the fixture's
// US data center, with a minimal environment: no display, no $BROWSER.
func startBinaryLogin(t *testing.T, bin string, f *fixture, extra ...string) (cmd *exec.Cmd, args []string, stdout, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	args = append([]string{"login", "-scopes", "ZohoCRM.modules.ALL", "-token-file", f.file, "-accounts-url", f.srv.DC("us").AccountsURL}, extra...)
	cmd = exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "ZOHO_CLIENT_ID=" + testClientID, "ZOHO_CLIENT_SECRET=" + testClientSecret}
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, args, stdout, stderr
}

// The whole login through the built command, as a user runs it.
func TestLoginBinary(t *testing.T) {
	bin := buildBinary(t)
	f := newFixture(t, fastLogin)
	// No display and no $BROWSER: no browser, and no failure for it.
	cmd, args, stdout, stderr := startBinaryLogin(t, bin, f)
	if err := f.srv.ApproveDevice(waitForCode(t, stdout.String), ""); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	f.record(args, stdout.String(), stderr.String())
	if err != nil || !strings.Contains(stdout.String(), "Open the page yourself (no graphical session here)") {
		t.Fatalf("login: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if tok := f.stored(); tok.RefreshToken == "" {
		t.Errorf("stored %v", tok)
	}
}

func TestWaitingIndicator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var plain bytes.Buffer
		w := startWaiting(&plain, false, time.Now().Add(5*time.Minute))
		time.Sleep(65 * time.Second)
		w.stop()
		want := "Waiting for you to accept in the browser (the code expires in 5m0s)...\n" +
			"Still waiting: 30s so far, the code expires in 4m30s.\n" +
			"Still waiting: 1m0s so far, the code expires in 4m0s.\n"
		if plain.String() != want {
			t.Errorf("plain output:\n%q\nwant\n%q", plain.String(), want)
		}

		var tty bytes.Buffer
		w = startWaiting(&tty, true, time.Now().Add(5*time.Minute))
		time.Sleep(61 * time.Second)
		w.stop()
		out := tty.String()
		if !strings.HasPrefix(out, "\r⠋ Waiting for you to accept in the browser: 0:00 so far, the code expires in 5:00\x1b[K") ||
			!strings.Contains(out, ": 1:00 so far, the code expires in 4:00\x1b[K") || !strings.HasSuffix(out, "\r\x1b[K") || strings.Contains(out, "\n") {
			t.Errorf("terminal output: %q", out[max(0, len(out)-300):])
		}
	})
}

func TestBrowserCommand(t *testing.T) {
	const u = "https://accounts.zoho.com/oauth/v3/device"
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name string
		env  func(string) string
		goos string
		want string // argv joined with |, or "error: ..." text
	}{
		{"linux desktop", env("DISPLAY", ":0"), "linux", "xdg-open|" + u},
		{"wayland", env("WAYLAND_DISPLAY", "wayland-0"), "freebsd", "xdg-open|" + u},
		{"ssh session", env(), "linux", "error: no graphical session"},
		{"mac", env(), "darwin", "open|" + u},
		{"windows", env(), "windows", "rundll32|url.dll,FileProtocolHandler|" + u},
		{"BROWSER", env("BROWSER", "firefox --new-window"), "linux", "firefox|--new-window|" + u},
		{"BROWSER with %s", env("BROWSER", ":w3m -o x=%s:lynx"), "linux", "w3m|-o|x=" + u},
		{"empty BROWSER entries", env("BROWSER", "::", "DISPLAY", ":0"), "linux", "xdg-open|" + u},
	}
	for _, tc := range cases {
		argv, err := browserCommand(u, tc.env, tc.goos)
		got := strings.Join(argv, "|")
		if err != nil {
			got = "error: " + err.Error()
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if err := openBrowser(context.Background(), "file:///etc/passwd", env("BROWSER", "true")); err == nil {
		t.Error("opened a file address")
	}
	if err := openBrowser(context.Background(), u, env("BROWSER", "false")); err == nil || !strings.Contains(err.Error(), "false failed") {
		t.Errorf("a failing opener: %v", err)
	}
	if err := openBrowser(context.Background(), u, env("BROWSER", "no-such-browser-here")); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a missing opener: %v", err)
	}
}

func TestShown(t *testing.T) {
	for in, want := range map[string]string{
		"https://accounts.zoho.com/oauth/v3/device": "https://accounts.zoho.com/oauth/v3/device",
		"BCDF-GHJK":                   "BCDF-GHJK",
		"Zoho Ünïcode ok":             "Zoho Ünïcode ok",
		"code\x1b[2J":                 `code\x1b[2J`,
		"two\nlines":                  `two\nlines`,
		"bad \xff utf-8":              `bad \xff utf-8`,
		"right\u202eleft":             `right\u202eleft`,
		"":                            "",
		strings.Repeat("a", 300):      strings.Repeat("a", 200) + "...",
		"nb\u00a0space stays visible": `nb\u00a0space stays visible`,
	} {
		if got := shown(in); got != want {
			t.Errorf("shown(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestLoginIDHidesTheToken(t *testing.T) {
	tok := &zohoauth.Token{RefreshToken: "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"}
	id := loginID(tok)
	if len(id) != 12 || strings.Contains(tok.RefreshToken, id) || loginID(&zohoauth.Token{}) != "" {
		t.Errorf("login id %q", id)
	}
	other := *tok
	other.RefreshToken = strings.Replace(tok.RefreshToken, "0123", "0124", 1)
	if loginID(&other) == id {
		t.Error("two refresh tokens share a login id")
	}
}
