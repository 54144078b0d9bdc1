package zohoauth

import (
	"context"
	"time"
)

// Zoho's limit on token calls: zohoMintLimit access tokens per refresh token
// in any zohoMintWindow. Every call counts, whatever its answer: one that
// ends in a 5xx or a reset may still have minted a token.
const (
	zohoMintLimit  = 10
	zohoMintWindow = 10 * time.Minute
)

// callLog is the record of token calls within the window: when each was,
// or will be, sent. It holds at most limit times.
type callLog []time.Time

// take records a call to be sent at at (now, or later for a retry after its
// wait: Zoho counts it when it arrives) if fewer than limit calls fall in
// the window before now. Otherwise it records nothing and returns when the
// oldest of them leaves the window.
func (l *callLog) take(now, at time.Time, limit int, window time.Duration) (ok bool, free time.Time) {
	keep := (*l)[:0]
	for _, t := range *l {
		if now.Sub(t) < window {
			keep = append(keep, t)
		}
	}
	*l = keep
	if len(keep) >= limit {
		oldest := keep[0]
		for _, t := range keep {
			if t.Before(oldest) {
				oldest = t
			}
		}
		return false, oldest.Add(window)
	}
	*l = append(keep, at)
	return true, time.Time{}
}

// allowCall is the Source's gate on token calls (see callGate): a retry
// only while refreshes have not been failing, and every call within Zoho's
// budget; a call the budget refuses makes refreshes wait until it frees.
func (s *Source) allowCall(_ context.Context, at time.Time, retry bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if retry && !s.back.mayRetry() {
		return false
	}
	ok, free := s.calls.take(time.Now(), at, zohoMintLimit, zohoMintWindow)
	if !ok {
		s.back.until(free)
	}
	return ok
}
