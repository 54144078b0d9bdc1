package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

func TestDemo(t *testing.T) {
	start := time.Now()
	var out, errs bytes.Buffer
	status := run([]string{"demo"}, &out, &errs, func(string) string { return "" })
	took := time.Since(start)
	t.Logf("demo output (%s):\n%s", took.Round(time.Millisecond), out.String())
	if status != exitOK || errs.Len() != 0 {
		t.Fatalf("demo: status %d, stderr %q", status, errs.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("demo printed %d lines, want a header, 6 steps and a verdict", len(lines))
	}
	wantCalls := []string{"(token calls: 1, +1)", "(token calls: 1, +0)", "(token calls: 2, +1)", "(token calls: 3, +1)", "(token calls: 4, +1)", "(token calls: 4, +0)"}
	for i, line := range lines[1:7] {
		if !strings.HasPrefix(line, "ok   ") || !strings.HasSuffix(line, wantCalls[i]) {
			t.Errorf("step %d: %q, want ok and %s", i+1, line, wantCalls[i])
		}
	}
	if !strings.HasPrefix(lines[7], "PASS ") {
		t.Errorf("verdict: %q", lines[7])
	}
	if took > 10*time.Second {
		t.Errorf("the demo took %s; it should take a few seconds", took)
	}
}

// TestDemoNoticesMisbehaviour disturbs the fake before one step and wants
// that step to fail, with a FAIL line and no verdict of success.
func TestDemoNoticesMisbehaviour(t *testing.T) {
	for _, tc := range []struct {
		name    string
		step    int
		disturb func(srv *zohotest.Server, tokenFile string)
		says    string
	}{
		{"token dead before the first call", 2, func(srv *zohotest.Server, _ string) { srv.ExpireAll() },
			"the request did not carry the access token from the exchange"},
		{"token endpoint down at expiry", 3, func(srv *zohotest.Server, _ string) { srv.SetFault(zohotest.Fault{Status: 503}) },
			"GET /crm/v8/Leads failed"},
		{"grant revoked before the rejected token", 4, func(srv *zohotest.Server, file string) {
			tok, err := zohoauth.NewFileStore(file).Load(context.Background())
			if err == nil {
				srv.RevokeRefreshToken(tok.RefreshToken)
			}
		}, "POST /crm/v8/Leads answered 401"},
		{"token file gone before the restart", 6, func(_ *zohotest.Server, file string) { os.Remove(file) },
			"the token file cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			ok := runDemo(&out, demoHooks{before: func(step int, srv *zohotest.Server, file string) {
				if step == tc.step {
					tc.disturb(srv, file)
				}
			}})
			text := out.String()
			if ok || strings.Contains(text, "PASS") {
				t.Fatalf("the demo passed:\n%s", text)
			}
			lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
			last := lines[len(lines)-1]
			if len(lines) != tc.step+1 || !strings.HasPrefix(last, "FAIL ") || !strings.Contains(last, tc.says) {
				t.Errorf("want step %d to fail saying %q:\n%s", tc.step, tc.says, text)
			}
		})
	}
}
