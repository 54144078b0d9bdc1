package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth/redisstore"
	"github.com/redis/go-redis/v9"
)

// The tests run against a real redis-server. REDIS_ADDR names a shared one
// (ci.sh starts it); REDIS_SERVER_BIN, or redis-server on PATH, lets a test
// start and restart its own.

// sharedAddr returns REDIS_ADDR. Without it the test is skipped, except under
// CI, where it fails.
func sharedAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		missing(t, "REDIS_ADDR is not set: start redis-server on 127.0.0.1 and set REDIS_ADDR=127.0.0.1:PORT, or run ci.sh")
	}
	return addr
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// recommendedOptions are the settings the README recommends: short
// timeouts, one dial attempt per command and a single command retry, so that
// an unreachable Redis costs a request little.
func recommendedOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:          addr,
		DialTimeout:   500 * time.Millisecond,
		DialerRetries: 1,
		ReadTimeout:   500 * time.Millisecond,
		WriteTimeout:  500 * time.Millisecond,
		MaxRetries:    1,
	}
}

// clientOptions are what the other tests and the workers use: the same,
// with timeouts long enough not to fire on a loaded machine.
func clientOptions(addr string) *redis.Options {
	o := recommendedOptions(addr)
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = 2*time.Second, 2*time.Second, 2*time.Second
	return o
}

func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(clientOptions(addr))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// uniquePrefix returns a key prefix no other test uses, and removes the keys
// under it when the test ends.
func uniquePrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	p := "zohoauth-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := c.Keys(ctx, p+"*").Result()
		if err == nil && len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return p
}

// acctStore returns a client to the shared Redis, a store of account
// "acct" on it under a prefix of its own, and that prefix.
func acctStore(t testing.TB) (*redis.Client, *redisstore.Store, string) {
	t.Helper()
	c := newClient(t, sharedAddr(t))
	p := uniquePrefix(t, c)
	return c, redisstore.New(c, "acct", redisstore.WithPrefix(p)), p
}

// server is a redis-server child owned by one test, so the test can stop and
// start it.
type server struct {
	bin  string
	args []string
	dir  string
	addr string
	cmd  *exec.Cmd
	exit chan error
}

func serverBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("REDIS_SERVER_BIN")
	if bin == "" {
		p, err := exec.LookPath("redis-server")
		if err != nil {
			missing(t, "no redis-server: set REDIS_SERVER_BIN or put redis-server on PATH")
		}
		bin = p
	}
	return bin
}

// startServer starts a redis-server on a free loopback port, without
// persistence unless a test asks SHUTDOWN SAVE, and with any further
// arguments given. It is killed when the test ends.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	s := &server{bin: serverBin(t), dir: t.TempDir(), args: args}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	_ = l.Close()
	s.start(t)
	t.Cleanup(func() {
		if s.cmd != nil {
			_ = s.cmd.Process.Kill()
			<-s.exit
		}
	})
	return s
}

func (s *server) start(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(s.addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--logfile", ""}, s.args...)
	s.cmd = exec.Command(s.bin, args...)
	var out strings.Builder
	s.cmd.Stdout = &out
	s.cmd.Stderr = &out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	s.exit = make(chan error, 1)
	go func(cmd *exec.Cmd) { s.exit <- cmd.Wait() }(s.cmd)
	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		select {
		case err := <-s.exit:
			s.cmd = nil
			t.Fatalf("redis-server exited (%v): %s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer within 5s: %s", s.addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop shuts the server down. With save, its data is written to disk first
// and comes back on the next start; without, it is gone for good (an earlier
// snapshot is removed too).
func (s *server) stop(t testing.TB, save bool) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1})
	defer c.Close()
	mode := "NOSAVE"
	if save {
		mode = "SAVE"
	}
	// SHUTDOWN closes the connection instead of replying.
	if err := c.Do(context.Background(), "SHUTDOWN", mode).Err(); err != nil && !isClosed(err) {
		t.Fatalf("SHUTDOWN %s: %v", mode, err)
	}
	select {
	case <-s.exit:
	case <-time.After(5 * time.Second):
		t.Fatal("redis-server did not exit after SHUTDOWN")
	}
	s.cmd = nil
	if !save {
		if err := os.Remove(filepath.Join(s.dir, "dump.rdb")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

func isClosed(err error) bool {
	var ne net.Error
	return errors.Is(err, net.ErrClosed) || errors.As(err, &ne) || strings.Contains(err.Error(), "EOF") ||
		strings.Contains(err.Error(), "connection reset")
}
