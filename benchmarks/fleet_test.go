package benchmarks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/redisstore"
	"github.com/go-zoho/zohoauth/zohotest"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
)

// Scenario 7: a fleet of processes on one host share one token store. The
// parent runs a fake Zoho (zohotest) on a loopback server and starts the
// workers by running this test binary again with fleetWorkerEnv set.
const (
	fleetWorkerEnv = "ZOHOAUTH_BENCH_FLEET_WORKER" // "zohoauth" or "oauth2"
	fleetBaseEnv   = "ZOHOAUTH_BENCH_FLEET_BASE"   // the fake's URL
	fleetStoreEnv  = "ZOHOAUTH_BENCH_FLEET_STORE"  // "file:<path>" or "redis:<address>/<account>"
	fleetWindowEnv = "ZOHOAUTH_BENCH_FLEET_WINDOW" // zohoauth's refresh window

	fleetLifetime = 2 * time.Second        // access tokens of the fake
	fleetWindow   = time.Second            // stale after 1 s, so 1 s per expiry
	fleetMargin   = fleetWindow / 2        // what zohoauth keeps before expiry; oauth2 gets the same
	fleetGap      = 300 * time.Millisecond // token calls closer than this serve one expiry
)

// fleetStores open a store from its fleetStoreEnv form, by kind.
var fleetStores = map[string]func(spec string) (zohoauth.Store, error){
	"file": func(spec string) (zohoauth.Store, error) { return zohoauth.NewFileStore(spec), nil },
	"redis": func(spec string) (zohoauth.Store, error) {
		addr, account, ok := strings.Cut(spec, "/")
		if !ok || account == "" {
			return nil, fmt.Errorf("redis store %q: want address/account", spec)
		}
		// The worker process exits when done; the client goes with it.
		return redisstore.New(redis.NewClient(&redis.Options{Addr: addr}), account, redisstore.WithPrefix(fleetRedisPrefix)), nil
	},
}

// fleetRedisPrefix keeps the benchmark's keys apart from anything else in
// the Redis it is given.
const fleetRedisPrefix = "zohoauth-bench:"

func openFleetStore(spec string) (zohoauth.Store, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	open, ok := fleetStores[kind]
	if !ok {
		return nil, fmt.Errorf("unknown store %q", kind)
	}
	return open(arg)
}

// fleetWorker is the body of a worker process. It prints "ready", waits for
// a line on standard input, then calls the API every 10 ms until standard
// input closes, and prints how many calls succeeded and failed.
func fleetWorker(kind string) int {
	base, window := os.Getenv(fleetBaseEnv), fleetWindow
	if w, err := time.ParseDuration(os.Getenv(fleetWindowEnv)); err == nil {
		window = w
	}
	store, err := openFleetStore(os.Getenv(fleetStoreEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	in := bufio.NewReader(os.Stdin)
	fmt.Println("ready")
	if _, err := in.ReadString('\n'); err != nil {
		return 2
	}
	var stop atomic.Bool
	go func() {
		_, _ = io.Copy(io.Discard, in)
		stop.Store(true)
	}()
	client, done, err := fleetClient(kind, base, store, window)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer done()
	ok, failed := 0, 0
	for !stop.Load() {
		resp, err := client.Get(base + "/crm/v8/Leads?fields=Last_Name")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == http.StatusNoContent { // Zoho's answer for an empty list
			ok++
		} else {
			failed++
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println(ok, failed)
	return 0
}

// fleetClient builds a worker's client. zohoauth shares the store; x/oauth2
// has no store, so it reads the saved token once, as users persisting tokens
// by hand do, and then refreshes on its own.
func fleetClient(kind, base string, store zohoauth.Store, window time.Duration) (*http.Client, func(), error) {
	const id, secret = "test-client-id", "test-client-secret"
	switch kind {
	case "zohoauth":
		cfg := &zohoauth.Config{ClientID: id, ClientSecret: secret, AccountsURL: base}
		src := zohoauth.NewSource(cfg, zohoauth.WithStore(store), zohoauth.WithRefreshWindow(window))
		client := zohoauth.NewClient(src)
		return client, func() { client.CloseIdleConnections(); src.Close() }, nil
	case "oauth2":
		saved, err := store.Load(context.Background())
		if err != nil {
			return nil, nil, err
		}
		conf := &oauth2.Config{ClientID: id, ClientSecret: secret,
			Endpoint: oauth2.Endpoint{TokenURL: base + "/oauth/v2/token", AuthStyle: oauth2.AuthStyleInParams}}
		tok := &oauth2.Token{AccessToken: saved.AccessToken, RefreshToken: saved.RefreshToken, TokenType: "Bearer", Expiry: saved.Expiry}
		src := oauth2.ReuseTokenSourceWithExpiry(tok, conf.TokenSource(context.Background(), tok), window/2)
		client := &http.Client{Transport: &oauth2.Transport{Source: src}}
		return client, client.CloseIdleConnections, nil
	}
	return nil, nil, fmt.Errorf("unknown worker kind %q", kind)
}

// callLog passes requests to the fake Zoho and, once started, notes when
// each token endpoint call arrives.
type callLog struct {
	next    http.Handler
	started atomic.Bool
	mu      sync.Mutex
	times   []time.Time
}

func (l *callLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.started.Load() && r.URL.Path == "/oauth/v2/token" {
		now := time.Now()
		l.mu.Lock()
		l.times = append(l.times, now)
		l.mu.Unlock()
	}
	l.next.ServeHTTP(w, r)
}

// fleetResult is what one fleet run saw.
type fleetResult struct {
	calls    int // refresh calls
	expiries int // groups of refresh calls, one group per token that came due
	maxGroup int // most calls in one group
	ok       int // API requests that succeeded
	failed   int
}

// groupCalls groups call times that lie within gap of their group's first
// call, and returns the number of groups and the size of the largest.
func groupCalls(times []time.Time, gap time.Duration) (groups, largest int) {
	times = slices.Clone(times)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var first time.Time
	size := 0
	for _, t := range times {
		if groups == 0 || t.Sub(first) > gap {
			groups, first, size = groups+1, t, 0
		}
		size++
		largest = max(largest, size)
	}
	return groups, largest
}

// runFleet starts procs workers of kind sharing the store given by spec
// (whose saved token it writes first through store), lets them call the API
// for run, and counts the refresh calls.
func runFleet(tb testing.TB, kind, spec string, store zohoauth.Store, procs int, run time.Duration) fleetResult {
	z := zohotest.New(zohotest.Options{
		AccessTokenLifetime: fleetLifetime,
		// Off so that the count shows coordination alone. With Zoho's
		// limits an uncoordinated fleet of 8 is throttled at its second
		// expiry (10 tokens per 10 minutes).
		ThrottleLimit: -1,
		MaxLiveTokens: -1,
		// x/oauth2 sends "Authorization: Bearer"; the comparison is about
		// refresh coordination, not the header.
		AcceptBearer: true,
	})
	defer z.Close()
	log := &callLog{next: z.Handler("us")}
	srv := httptest.NewServer(log)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), run+time.Minute)
	defer cancel()
	type worker struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *bufio.Scanner
	}
	var ws []worker
	defer func() {
		for _, w := range ws {
			w.stdin.Close()
			_ = w.cmd.Wait()
		}
	}()
	for range procs {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fleetWorkerEnv+"="+kind, fleetBaseEnv+"="+srv.URL,
			fleetStoreEnv+"="+spec, fleetWindowEnv+"="+fleetWindow.String())
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			tb.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			tb.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		w := worker{cmd, stdin, bufio.NewScanner(stdout)}
		ws = append(ws, w)
		if !w.out.Scan() || w.out.Text() != "ready" {
			tb.Fatalf("worker did not start: %q", w.out.Text())
		}
	}
	// Every worker is up: give them a token that comes due at once.
	cfg := &zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret", AccountsURL: srv.URL}
	tok, err := cfg.Exchange(ctx, z.NewGrantCode("us"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := store.Save(ctx, tok); err != nil {
		tb.Fatal(err)
	}
	log.started.Store(true)
	for _, w := range ws {
		if _, err := io.WriteString(w.stdin, "go\n"); err != nil {
			tb.Fatal(err)
		}
	}
	time.Sleep(run)
	var r fleetResult
	for i, w := range ws {
		w.stdin.Close()
		var ok, failed int
		if !w.out.Scan() {
			tb.Fatalf("worker %d printed no result", i)
		}
		if _, err := fmt.Sscan(w.out.Text(), &ok, &failed); err != nil {
			tb.Fatalf("worker %d printed %q", i, w.out.Text())
		}
		r.ok, r.failed = r.ok+ok, r.failed+failed
	}
	for i, w := range ws {
		if err := w.cmd.Wait(); err != nil {
			tb.Fatalf("worker %d: %v", i, err)
		}
	}
	ws = nil
	log.mu.Lock()
	times := slices.Clone(log.times)
	log.mu.Unlock()
	r.calls = len(times)
	if n := z.Stats().TokenCalls["refresh_token"]; n != r.calls {
		tb.Fatalf("the fake counted %d refresh calls, the log %d token calls", n, r.calls)
	}
	r.expiries, r.maxGroup = groupCalls(times, fleetGap)
	return r
}

// fleetCase is one fleet configuration: which client the workers use and
// which store they share.
type fleetCase struct {
	name  string
	kind  string
	store func(tb testing.TB) (spec string, s zohoauth.Store, err error)
}

func fileStoreCase(tb testing.TB) (string, zohoauth.Store, error) {
	path := filepath.Join(tb.TempDir(), "token.json")
	return "file:" + path, zohoauth.NewFileStore(path), nil
}

var errSkip = errors.New("skipped")

// redisStoreCase uses the Redis at REDIS_ADDR, under a new account name for
// each run, and deletes the run's keys afterwards.
func redisStoreCase(tb testing.TB) (string, zohoauth.Store, error) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		return "", nil, fmt.Errorf("%w: REDIS_ADDR is not set", errSkip)
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	account := fmt.Sprintf("fleet-%d", time.Now().UnixNano())
	store := redisstore.New(client, account, redisstore.WithPrefix(fleetRedisPrefix))
	tb.Cleanup(func() {
		_ = store.Delete(context.Background())
		client.Close()
	})
	if err := client.Ping(context.Background()).Err(); err != nil {
		return "", nil, fmt.Errorf("redis at %s: %w", addr, err)
	}
	return "redis:" + addr + "/" + account, store, nil
}

func fleetCases() []fleetCase {
	return []fleetCase{
		{"filestore/zohoauth", "zohoauth", fileStoreCase},
		{"redis/zohoauth", "zohoauth", redisStoreCase},
		{"uncoordinated/oauth2", "oauth2", fileStoreCase},
	}
}

// BenchmarkFleet is scenario 7: 8 processes share one store while tokens
// come due every second. Goal: calls-per-expiry exactly 1 (an uncoordinated
// fleet makes 8). The Redis case runs when REDIS_ADDR (host:port) is set.
func BenchmarkFleet(b *testing.B) {
	const (
		procs = 8
		run   = 3750 * time.Millisecond // mid-way between expiries of both clients
	)
	for _, c := range fleetCases() {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var calls, expiries, largest, ok, failed int
			for b.Loop() {
				spec, store, err := c.store(b)
				if errors.Is(err, errSkip) {
					b.Skip(err)
				}
				if err != nil {
					b.Fatal(err)
				}
				r := runFleet(b, c.kind, spec, store, procs, run)
				calls, expiries, ok, failed = calls+r.calls, expiries+r.expiries, ok+r.ok, failed+r.failed
				largest = max(largest, r.maxGroup)
			}
			b.ReportMetric(float64(calls)/float64(max(expiries, 1)), "calls-per-expiry")
			b.ReportMetric(float64(largest), "max-calls-per-expiry")
			b.ReportMetric(float64(expiries)/float64(b.N), "expiries")
			b.ReportMetric(float64(failed)/float64(b.N), "failed-reqs")
			b.ReportMetric(float64(ok)/float64(b.N), "ok-reqs")
		})
	}
}
