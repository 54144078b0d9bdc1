package zohoauth

import (
	"errors"
	"time"
)

// Backoff bounds of a Source.
const (
	// backoff after a failed refresh doubles from backoffMin up to
	// sustainablePace: while no token works, a call a minute is what Zoho's
	// budget allows for ever.
	backoffMin = time.Second
	// after a refusal that needs a new grant, wait from reauthBackoffMin up
	// to backoffMax: only a person (or a new grant in the store) helps.
	reauthBackoffMin = 30 * time.Second
	backoffMax       = 5 * time.Minute
	// a token refused within rejectGrace of its minting counts towards a
	// streak: refreshing again is unlikely to help (wrong DC, revoked
	// grant). Two in a row hold the next call back, from rejectBackoff.
	rejectGrace   = time.Minute
	rejectBackoff = 10 * time.Second
)

var errBackoff = errors.New("refresh is backing off after the API rejected fresh tokens")

// backoff is when a Source may next ask Zoho for a token, and why not
// sooner. Only its methods change it; the Source holds its mutex.
type backoff struct {
	failures int       // consecutive failed refreshes
	nextTry  time.Time // no refresh before this
	lastErr  error     // why the last refresh failed
}

// holds reports whether a refresh must wait at now.
func (b *backoff) holds(now time.Time) bool { return now.Before(b.nextTry) }

// until makes refreshes wait until at least t.
func (b *backoff) until(t time.Time) { b.nextTry = later(b.nextTry, t) }

// failed records a failed refresh at now. usableUntil is when the token
// being served stops being sent (zero if none is usable): an ordinary
// failure never makes the next try wait past it. pace is the earliest the
// call budget should be spent again (see spread). A wait Zoho asked for (or
// one the shared state holds) is kept in any case.
func (b *backoff) failed(err error, now, usableUntil, pace time.Time) {
	b.failures++
	var asked time.Duration // what Zoho asked for, or the shared state holds
	if ze := (*Error)(nil); errors.As(err, &ze) {
		asked = ze.RetryAfter
	}
	next := now.Add(delay(backoffMin, b.failures, sustainablePace))
	throttled := errors.Is(err, ErrThrottled)
	switch {
	case errors.Is(err, ErrReauthRequired):
		next = now.Add(delay(reauthBackoffMin, b.failures, backoffMax))
	case throttled && (errors.Is(err, errBudget) || asked > 0):
		next = now // the budget set the end of its window, or Zoho said how long
	case throttled:
		next = now.Add(zohoMintWindow) // Zoho's throttle: retrying early extends it
	default:
		next = later(next, pace)
	}
	if !throttled && !usableUntil.IsZero() && now.Before(usableUntil) && usableUntil.Before(next) {
		next = usableUntil // try again at the latest when the served token runs out
	}
	next = later(next, now.Add(asked))
	b.until(next)
	b.lastErr = err
}

// succeeded ends every backoff: after failures (a forced refresh may have
// gone through one) as after rejections.
func (b *backoff) succeeded() {
	b.failures, b.lastErr, b.nextTry = 0, nil, time.Time{}
}

// forcible reports whether a forced refresh (a cron job) may go ahead
// during the backoff: yes after an ordinary failure, not while Zoho's
// throttle or a rejection streak holds.
func (b *backoff) forcible() bool {
	return b.lastErr != nil && !errors.Is(b.lastErr, ErrThrottled)
}

// mayRetry reports whether a token call may retry within one refresh: only
// the first refresh after a success does, so an outage does not spend the
// budget in seconds.
func (b *backoff) mayRetry() bool { return b.failures == 0 }

// delay doubles base n-1 times, up to ceiling.
func delay(base time.Duration, n int, ceiling time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
