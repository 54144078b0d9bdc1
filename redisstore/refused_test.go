package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth/redisstore"
)

// How long the refused fleets run: REFUSED_FOR overrides it (a Go
// duration), e.g. REFUSED_FOR=12m to see a whole budget window go by.
var refusedFor = envDuration("REFUSED_FOR", 45*time.Second)

// TestRefusedFleetSharesOneBudget runs, side by side for the same time, 8
// processes sharing one Redis store and 1 process alone, each group with a
// fake Zoho whose API refuses every token (401 INVALID_TOKEN). Every token
// call counts against Zoho's limit for the refresh token, so the 8 together
// must make at most 10 token calls in any 10 minutes, and no more than the
// one process makes alone: the call budget and the rejection streak live in
// Redis, not in each process.
func TestRefusedFleetSharesOneBudget(t *testing.T) {
	t.Parallel()
	addr := sharedAddr(t)
	var fleet, alone refusedRun
	t.Run("group", func(t *testing.T) {
		t.Run("8", func(t *testing.T) {
			t.Parallel()
			fleet = runRefused(t, addr, "refused8", 8)
		})
		t.Run("1", func(t *testing.T) {
			t.Parallel()
			alone = runRefused(t, addr, "refused1", 1)
		})
	})
	if fleet.start.IsZero() || alone.start.IsZero() {
		return // a run could not finish
	}
	for _, r := range []refusedRun{fleet, alone} {
		if worst, at := mostInWindow(r.calls, zohoWindow); worst > zohoLimit {
			t.Errorf("%d processes: %d token calls within 10 minutes of the one at +%v; Zoho allows %d",
				r.workers, worst, at.Sub(r.start).Round(time.Millisecond), zohoLimit)
		}
	}
	if len(fleet.calls) > len(alone.calls) {
		t.Errorf("8 processes made %d token calls in %v; one alone made %d: the fleet does not share one budget",
			len(fleet.calls), refusedFor, len(alone.calls))
	}
	for _, r := range []refusedRun{fleet, alone} {
		worst, _ := mostInWindow(r.calls, zohoWindow)
		t.Logf("%d process(es), API refusing every token, %v: %d token calls, at %s, at most %d in any 10 minutes (Zoho allows %d); "+
			"%d API requests, all refused", r.workers, refusedFor, len(r.calls), r.offsets(), worst, zohoLimit, r.requests)
	}
}

// refusedRun is what one group of processes did.
type refusedRun struct {
	workers  int
	start    time.Time
	calls    []time.Time // token calls, as they reached the fake Zoho
	requests int
}

func (r refusedRun) offsets() string {
	s := ""
	for i, c := range r.calls {
		if i > 0 {
			s += ", "
		}
		s += "+" + c.Sub(r.start).Round(100*time.Millisecond).String()
	}
	return "[" + s + "]"
}

// runRefused runs n worker processes sharing one account in Redis against a
// fake Zoho that refuses every token, for refusedFor, and returns the token
// calls they made. It fails t if any request succeeded or Zoho throttled.
func runRefused(t *testing.T, addr, account string, n int) refusedRun {
	c := newClient(t, addr)
	prefix := uniquePrefix(t, c)
	zoho := newFakeZoho(t, time.Hour)
	zoho.refuse = true
	seed(t, redisstore.New(c, account, redisstore.WithPrefix(prefix)), zoho.issue())
	r := refusedRun{workers: n, start: time.Now()}
	var ws []*worker
	for i := range n {
		ws = append(ws, startWorker(t, workerConfig{
			ID: account + "-w" + strconv.Itoa(i), RedisAddr: addr, Prefix: prefix, Account: account,
			AccountsURL: zoho.url, Window: 5 * time.Minute, Interval: 100 * time.Millisecond,
		}))
	}
	time.Sleep(time.Until(r.start.Add(refusedFor)))
	for _, w := range ws {
		sum := w.stop(t)
		r.requests += sum.OK + sum.Failed
		if sum.OK > 0 || sum.Failed == 0 {
			t.Errorf("worker %s: %d requests succeeded, %d failed; want every request refused", w.id, sum.OK, sum.Failed)
		}
	}
	for _, call := range zoho.refreshCalls() {
		r.calls = append(r.calls, call.At)
	}
	st := zoho.Stats()
	if st.ThrottleHits > 0 {
		t.Errorf("%d processes: Zoho throttled %d token calls", n, st.ThrottleHits)
	}
	if got := st.TokenCalls["refresh_token"]; got != len(r.calls) {
		t.Errorf("%d processes: zohotest counted %d token calls, the recorder %d", n, got, len(r.calls))
	}
	// What Redis holds: the calls of the last 10 minutes, never more than
	// Zoho's limit, and the shared state.
	ctx := context.Background()
	recent := 0
	for _, at := range r.calls {
		if time.Since(at) < zohoWindow-time.Minute {
			recent++
		}
	}
	if k := c.ZCard(ctx, prefix+"{"+account+"}:calls").Val(); k > zohoLimit || k < int64(recent) {
		t.Errorf("%d processes: the calls key holds %d calls; %d were made in the last 9 minutes", n, k, recent)
	}
	if c.Exists(ctx, prefix+"{"+account+"}:state").Val() != 1 {
		t.Errorf("%d processes: no shared state in Redis", n)
	}
	return r
}

// mostInWindow is the largest number of calls (sorted) within window of
// one another, and the first of them.
func mostInWindow(calls []time.Time, window time.Duration) (int, time.Time) {
	most, first := 0, time.Time{}
	for i := range calls {
		k := 0
		for _, c := range calls[i:] {
			if c.Sub(calls[i]) < window {
				k++
			}
		}
		if k > most {
			most, first = k, calls[i]
		}
	}
	return most, first
}
