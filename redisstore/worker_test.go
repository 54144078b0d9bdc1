package redisstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/redisstore"
	"github.com/redis/go-redis/v9"
)

// The cross-process tests start copies of the test binary as workers. A
// worker is one service instance: its own Source over the shared Redis
// store, calling a fake Zoho API until its standard input is closed, then
// printing a summary as JSON.

const workerEnv = "REDISSTORE_TEST_WORKER"

type workerConfig struct {
	ID          string
	RedisAddr   string
	Prefix      string
	Account     string
	AccountsURL string // also the API's
	Window      time.Duration
	Timeout     time.Duration
	Interval    time.Duration
}

type workerSummary struct {
	OK     int
	Failed int
	Errors []string // the first few failures

	FirstFail, LastFail, LastOK time.Time
}

// workerHeader names the worker on every request it sends, so the fake
// servers can tell the workers apart.
const workerHeader = "X-Test-Worker"

type tagTransport struct {
	id   string
	base http.RoundTripper
}

func (t tagTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set(workerHeader, t.id)
	return t.base.RoundTrip(r)
}

func runWorker() int {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(os.Getenv(workerEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "worker: bad config:", err)
		return 2
	}
	client := redis.NewClient(clientOptions(cfg.RedisAddr))
	defer client.Close()
	store := redisstore.New(client, cfg.Account, redisstore.WithPrefix(cfg.Prefix))

	base := &http.Transport{}
	defer base.CloseIdleConnections()
	tag := tagTransport{id: cfg.ID, base: base}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	src := zohoauth.NewSource(&zohoauth.Config{
		ClientID:     fakeClientID,
		ClientSecret: fakeClientSecret,
		AccountsURL:  cfg.AccountsURL,
		HTTPClient:   &http.Client{Transport: tag, Timeout: 30 * time.Second},
	},
		zohoauth.WithStore(store),
		zohoauth.WithRefreshWindow(cfg.Window),
		zohoauth.WithRefreshTimeout(cfg.Timeout),
		zohoauth.WithLogger(log.With("worker", cfg.ID)),
	)
	defer src.Close()
	api := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: tag}}

	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	var sum workerSummary
	fail := func(format string, args ...any) {
		sum.Failed++
		sum.LastFail = time.Now()
		if sum.FirstFail.IsZero() {
			sum.FirstFail = sum.LastFail
		}
		if len(sum.Errors) < 5 {
			sum.Errors = append(sum.Errors, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
		}
	}
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			_ = json.NewEncoder(os.Stdout).Encode(sum)
			return 0
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cfg.AccountsURL+"/crm/v8/Leads?fields=Last_Name", nil)
		resp, err := api.Do(req)
		switch {
		case err != nil:
			fail("request: %v", err)
		case resp.StatusCode != http.StatusNoContent: // Zoho's answer for an empty list
			fail("request: HTTP %d", resp.StatusCode)
		default:
			sum.OK++
			sum.LastOK = time.Now()
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		cancel()
	}
}
