package zohoauth

import (
	"errors"
	"time"
)

// Backoff bounds of a Source.
const (
	// backoff after a failed refresh doubles from backoffMin up to backoffMax.
	backoffMin = time.Second
	backoffMax = 5 * time.Minute
	// after a refusal that needs a new grant, wait at least this long.
	reauthBackoffMin = 30 * time.Second
	// a token rejected within rejectGrace of arriving counts as a failure:
	// refreshing again is unlikely to help (wrong DC, revoked grant).
	rejectGrace   = time.Minute
	rejectBackoff = 10 * time.Second
)

var errBackoff = errors.New("refresh is backing off after the API rejected fresh tokens")

// backoff is when a Source may next ask Zoho for a token, and why not
// sooner. Only its methods change it; the Source holds its mutex.
type backoff struct {
	failures int       // consecutive failed refreshes
	rejects  int       // consecutive rejections of young tokens
	nextTry  time.Time // no refresh before this
	lastErr  error     // why the last refresh failed
}

// holds reports whether a refresh must wait at now.
func (b *backoff) holds(now time.Time) bool { return now.Before(b.nextTry) }

// until makes refreshes wait until at least t.
func (b *backoff) until(t time.Time) { b.nextTry = later(b.nextTry, t) }

// failed records a failed refresh at now. usableUntil is when the token
// being served stops being sent (zero if none is usable): an ordinary
// failure never makes the next try wait past it.
func (b *backoff) failed(err error, now, usableUntil time.Time) {
	b.failures++
	wait := delay(backoffMin, b.failures)
	throttled := errors.Is(err, ErrThrottled)
	switch {
	case errors.Is(err, ErrReauthRequired):
		// Only a new grant helps; it may arrive through the store, so look
		// again now and then, not at every request.
		wait = delay(reauthBackoffMin, b.failures)
	case throttled && errors.Is(err, errBudget):
		wait = 0 // the budget already set the end of its window
	case throttled:
		wait = zohoMintWindow
	}
	next := now.Add(wait)
	if !throttled && !usableUntil.IsZero() && now.Before(usableUntil) && usableUntil.Before(next) {
		next = usableUntil // try again at the latest when the served token runs out
	}
	b.until(next)
	b.lastErr = err
}

// succeeded ends every backoff: after failures (a forced refresh may have
// gone through one) as after rejections. A streak of rejected fresh tokens
// sets its backoff again in rejected, after this.
func (b *backoff) succeeded() {
	b.failures, b.lastErr, b.nextTry = 0, nil, time.Time{}
}

// rejected records that the API refused the served token at now. young
// means the token came from this source's last refresh less than
// rejectGrace ago: one more refresh may help (it could have been evicted),
// a streak will not.
func (b *backoff) rejected(young bool, now time.Time) {
	if !young {
		b.rejects = 0
		return
	}
	b.rejects++
	if b.rejects >= 2 {
		b.until(now.Add(delay(rejectBackoff, b.rejects-1)))
	}
}

// lifeLived forgets earlier rejections: the token being replaced lived its
// life.
func (b *backoff) lifeLived() { b.rejects = 0 }

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

// delay doubles base n-1 times, up to backoffMax.
func delay(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
