//go:build unix

package zohoauth_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// specialBound is how long a call on a FIFO may take before it counts as
// hung. A refusal takes microseconds; the bound leaves room for a loaded
// machine.
const specialBound = 5 * time.Second

// mkfifo makes a named pipe at path.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
}

// bounded runs fn and returns its error, failing the test if fn takes
// longer than specialBound. A call stuck opening fifo for reading is then
// released by opening it for writing, so that the failing test ends instead
// of hanging, and leaks no goroutine.
func bounded(t *testing.T, what, fifo string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(specialBound):
	}
	t.Errorf("%s still running after %v: it hangs on the FIFO", what, specialBound)
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Millisecond):
			// O_RDWR opens a FIFO at once on Linux; the open wakes a
			// reader blocked in its own open, and the close gives it EOF.
			if f, err := os.OpenFile(fifo, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		}
	}
}

// checkSpecialErr checks the refusal of a path that is not a regular file:
// it names the path, says what is there and what to do.
func checkSpecialErr(t *testing.T, what string, err error, path, kind string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	msg := err.Error()
	for _, want := range []string{path, kind, "not a regular file", "remove or rename it"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s: error %q does not say %q", what, msg, want)
		}
	}
	if errors.Is(err, zohoauth.ErrNoToken) {
		t.Errorf("%s: error %q reads as \"no token stored\"", what, msg)
	}
}

// A FIFO at the token path: Load, Save and Lock refuse it at once instead
// of waiting forever for a writer.
func TestFileStoreFIFOAtTokenPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	mkfifo(t, path)
	s := zohoauth.NewFileStore(path)
	ctx := context.Background()

	err := bounded(t, "Load", path, func() error { _, err := s.Load(ctx); return err })
	checkSpecialErr(t, "Load", err, path, "named pipe (FIFO)")

	err = bounded(t, "Save", path, func() error { return s.Save(ctx, numbered(1)) })
	checkSpecialErr(t, "Save", err, path, "named pipe (FIFO)")
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeNamedPipe {
		t.Errorf("Save replaced the FIFO: %v %v", fi, err)
	}
	assertNoTempFiles(t, filepath.Dir(path))
}

// A FIFO at the lock path: Lock refuses it at once.
func TestFileStoreFIFOAtLockPath(t *testing.T) {
	s := zohoauth.NewFileStore(filepath.Join(t.TempDir(), "token.json"))
	mkfifo(t, s.LockPath())
	err := bounded(t, "Lock", s.LockPath(), func() error {
		unlock, err := s.Lock(context.Background(), time.Minute)
		if err == nil {
			unlock()
		}
		return err
	})
	checkSpecialErr(t, "Lock", err, s.LockPath(), "named pipe (FIFO)")
	// The refusal released the in-process lock: with the FIFO gone, Lock works.
	if err := os.Remove(s.LockPath()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), specialBound)
	defer cancel()
	unlock, err := s.Lock(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Lock after the FIFO was removed: %v", err)
	}
	unlock()
}

// Other things that are not regular files, at the token path and reached
// through a symbolic link.
func TestFileStoreRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		make func(path string) error
		kind string
	}{
		"folder":            {func(p string) error { return os.Mkdir(p, 0o700) }, "a folder"},
		"link to a device":  {func(p string) error { return os.Symlink(os.DevNull, p) }, "character device"},
		"link to a FIFO":    {func(p string) error { return mkfifoErr(p+".fifo", p) }, "named pipe"},
		"socket (listener)": {listenUnix(t), "a socket"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if err := c.make(path); err != nil {
				t.Skipf("cannot make a %s here: %v", name, err)
			}
			s := zohoauth.NewFileStore(path)
			err := bounded(t, "Load", path+".fifo", func() error { _, err := s.Load(context.Background()); return err })
			checkSpecialErr(t, "Load", err, path, c.kind)
		})
	}
}

func mkfifoErr(fifo, link string) error {
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return err
	}
	return os.Symlink(fifo, link)
}

// listenUnix makes a Unix socket at the path, closed when the test ends.
func listenUnix(t *testing.T) func(string) error {
	return func(path string) error {
		l, err := net.Listen("unix", path)
		if err != nil {
			return err
		}
		t.Cleanup(func() { l.Close() })
		return nil
	}
}

// A Source over a FileStore whose path holds a FIFO: Token fails in
// bounded time with the store's error, and Close returns.
func TestSourceOverFIFOTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	mkfifo(t, path)
	srv := newZoho(t, zohotest.Options{})
	src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(zohoauth.NewFileStore(path)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*specialBound)
	defer cancel()
	err := bounded(t, "Token", path, func() error { _, err := src.Token(ctx); return err })
	checkSpecialErr(t, "Token", err, path, "named pipe (FIFO)")
	err = bounded(t, "Close", path, src.Close)
	if err != nil {
		t.Errorf("Close: %v", err)
	}
	if n := len(tokenCalls(srv)); n != 0 {
		t.Errorf("%d token calls; want none without a token", n)
	}
}
