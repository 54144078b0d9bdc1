package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth/zohotest"
)

// buildBinary builds the command into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "zohoauth")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// defaultTokenFile is where zohoauth.DefaultTokenPath points for a process
// whose home and configuration folders are under home.
func defaultTokenFile(t *testing.T, home string) string {
	switch runtime.GOOS {
	case "windows":
		return filepath.Join(home, "AppData", "zohoauth", "token.json")
	case "darwin", "ios":
		return filepath.Join(home, "Library", "Application Support", "zohoauth", "token.json")
	case "plan9":
		t.Skip("plan9 keeps configuration under $home/lib")
	}
	return filepath.Join(home, "config", "zohoauth", "token.json")
}

// TestBinary runs the built command as a separate process, for its exit
// statuses and the default token file.
func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	f := newFixture(t, zohotest.Options{})
	home := t.TempDir()
	f.file = defaultTokenFile(t, home)
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"AppData=" + filepath.Join(home, "AppData"),
		"TMPDIR=" + os.TempDir(),
		"ZOHO_CLIENT_ID=" + testClientID,
		"ZOHO_CLIENT_SECRET=" + testClientSecret,
	}
	if root := os.Getenv("SYSTEMROOT"); root != "" {
		env = append(env, "SYSTEMROOT="+root)
	}
	zoho := func(args ...string) (int, string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		status := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			status = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("zohoauth %v: %v", args, err)
		}
		f.record(args, stdout.String(), stderr.String())
		return status, stdout.String(), stderr.String()
	}

	status, stdout, stderr := zoho("-h")
	wantStatus(t, "-h", status, exitOK, stdout, stderr, "")
	if !strings.Contains(stdout, "Exit status:") || !strings.Contains(stdout, f.file) {
		t.Errorf("-h does not name the exit statuses and the default token file %s:\n%s", f.file, stdout)
	}

	status, stdout, stderr = zoho("exchange", "-accounts-url", f.eu.AccountsURL, "-code", f.code())
	wantStatus(t, "exchange", status, exitOK, stdout, stderr, "")
	if !strings.HasPrefix(stdout, "Saved the token to "+f.file+".\n") {
		t.Errorf("exchange did not save to the default token file %s: %q", f.file, stdout)
	}
	tok := f.stored()

	status, stdout, stderr = zoho("token")
	wantStatus(t, "token", status, exitOK, stdout, stderr, "")
	if stdout != tok.AccessToken+"\n" {
		t.Errorf("token printed something else than the stored access token")
	}

	status, stdout, stderr = zoho("api", "GET", "/crm/v8/Leads/1/x")
	wantStatus(t, "api with an unknown path", status, exitHTTP, stdout, stderr, "")
	if !strings.Contains(stdout, "INVALID_URL_PATTERN") || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("api 404: %q %q", stdout, stderr)
	}

	f.srv.SetFault(zohotest.Fault{Drop: true})
	status, stdout, stderr = zoho("refresh")
	f.srv.SetFault(zohotest.Fault{})
	wantStatus(t, "refresh with the token endpoint dropping connections", status, exitTransient, stdout, stderr, "try again later")

	status, stdout, stderr = zoho("refresh")
	wantStatus(t, "refresh", status, exitOK, stdout, stderr, "")
	if stdout != "" || stderr != "" {
		t.Errorf("refresh printed %q %q", stdout, stderr)
	}

	f.srv.RevokeRefreshToken(tok.RefreshToken)
	status, stdout, stderr = zoho("refresh")
	wantStatus(t, "refresh with a revoked refresh token", status, exitReauth, stdout, stderr, "create a new grant")

	status, stdout, stderr = zoho("exchange", "-dc", "mars", "-code", f.code())
	wantStatus(t, "unknown data center", status, exitFailure, stdout, stderr, "unknown data center")

	status, stdout, stderr = zoho("demo")
	wantStatus(t, "demo", status, exitOK, stdout, stderr, "")
	if !strings.Contains(stdout, "\nPASS ") || strings.Contains(stdout, "FAIL") {
		t.Errorf("demo:\n%s", stdout)
	}
}
