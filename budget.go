package zohoauth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Zoho's limit on token calls: zohoMintLimit access tokens per refresh token
// in any zohoMintWindow. Every call counts, whatever its answer: one that
// ends in a 5xx or a reset may still have minted a token.
const (
	zohoMintLimit  = 10
	zohoMintWindow = 10 * time.Minute
	// sustainablePace spends the budget no faster than it frees: one call
	// a minute.
	sustainablePace = zohoMintWindow / zohoMintLimit
	// quickCalls are spent at the backoff's own pace during an outage; the
	// rest of the budget is spread out (see spread).
	quickCalls = 6
)

// callLog is the record of token calls within the window: when each was,
// or will be, sent, oldest first.
type callLog []time.Time

// take records a call to be sent at at (now, or later for a retry after its
// wait: Zoho counts it when it arrives) if fewer than limit calls are younger
// than window at now, and returns ok and those calls, the new one included.
func (l *callLog) take(now, at time.Time, limit int, window time.Duration) (bool, []time.Time) {
	keep := (*l)[:0]
	for _, t := range *l {
		if now.Sub(t) < window {
			keep = append(keep, t)
		}
	}
	ok := len(keep) < limit
	if ok {
		keep = append(keep, at)
		slices.SortFunc(keep, func(a, b time.Time) int { return a.Compare(b) })
	}
	*l = keep
	return ok, slices.Clone(keep)
}

// spread is the earliest a token call may follow the calls in the window
// (oldest first) after a failed refresh, so that the budget lasts: the first
// quickCalls go at the backoff's pace (a blip heals in seconds); the rest
// are spread evenly until the oldest call leaves the window, never closer
// than sustainablePace. However long an outage lasts, calls then never stop
// for long, and after a full window they come once a minute. The zero time
// means no constraint.
func spread(calls []time.Time, limit int, window time.Duration) time.Time {
	n := len(calls)
	if n < quickCalls {
		return time.Time{}
	}
	if n >= limit {
		return calls[0].Add(window)
	}
	last := calls[n-1]
	gap := calls[0].Add(window).Sub(last) / time.Duration(limit-n+1)
	return last.Add(max(gap, window/time.Duration(limit)))
}

// memLedger is a Ledger in memory: a Source's own when its store shares
// none, and MemoryStore's.
type memLedger struct {
	lmu   sync.Mutex
	calls callLog
	state []byte
}

var errStateTooLarge = errors.New("zohoauth: ledger state is larger than MaxLedgerState")

func (m *memLedger) TakeCall(ctx context.Context, now, at time.Time, limit int, window time.Duration) (bool, []time.Time, error) {
	if err := ctx.Err(); err != nil {
		return false, nil, err
	}
	m.lmu.Lock()
	defer m.lmu.Unlock()
	ok, calls := m.calls.take(now, at, limit, window)
	return ok, calls, nil
}

func (m *memLedger) LoadState(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.lmu.Lock()
	defer m.lmu.Unlock()
	return slices.Clone(m.state), nil
}

func (m *memLedger) SaveState(ctx context.Context, state []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(state) > MaxLedgerState {
		return errStateTooLarge
	}
	m.lmu.Lock()
	defer m.lmu.Unlock()
	m.state = slices.Clone(state)
	return nil
}

// allowCall is the Source's gate on token calls (see callGate): a retry
// only while refreshes have not been failing, and every call within Zoho's
// budget, shared through the store's Ledger when it has one. A call the
// budget refuses makes refreshes wait until it frees.
func (s *Source) allowCall(ctx context.Context, at time.Time, retry bool) bool {
	s.mu.Lock()
	mayRetry := s.back.mayRetry()
	s.mu.Unlock()
	if retry && !mayRetry {
		return false
	}
	now := time.Now()
	ok, calls, err := s.ledger.TakeCall(ctx, now, at, zohoMintLimit, zohoMintWindow)
	if err != nil {
		// The shared budget cannot be asked: keep to this process's own.
		s.log.Warn("zohoauth: the store's call budget is unavailable; using this process's own", "error", err)
		ok, calls, _ = s.own.TakeCall(context.WithoutCancel(ctx), now, at, zohoMintLimit, zohoMintWindow)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = calls
	if !ok && len(calls) > 0 {
		s.back.until(calls[0].Add(zohoMintWindow))
	}
	return ok
}
