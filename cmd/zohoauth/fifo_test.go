//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth/zohotest"
)

// "zohoauth token" with a FIFO as its token file exits with an error
// instead of waiting forever for a writer.
func TestTokenFileIsAFIFO(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	fifo := filepath.Join(t.TempDir(), "token.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	type result struct {
		status         int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		status, stdout, stderr := f.run("token", "-token-file", fifo)
		done <- result{status, stdout, stderr}
	}()
	const bound = 10 * time.Second
	var r result
	select {
	case r = <-done:
	case <-time.After(bound):
		t.Errorf("zohoauth token still running after %v: it hangs on the FIFO", bound)
		// Release the stuck open so that the test ends.
		for released := false; !released; {
			if w, err := os.OpenFile(fifo, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			select {
			case r = <-done:
				released = true
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	wantStatus(t, "token with a FIFO as token file", r.status, exitFailure, r.stdout, r.stderr, "named pipe (FIFO), not a regular file")
	if !strings.Contains(r.stderr, fifo) {
		t.Errorf("stderr %q does not name the token file", r.stderr)
	}
}
