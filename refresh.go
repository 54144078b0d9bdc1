package zohoauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// The shared refresh of a Source: one flight at a time, whose body consults
// the store (under its lock, when it has one) and then either adopts the
// token another process saved or mints one and saves it.

// lockLeaseExtra is added to the refresh timeout for a store lock's lease.
const lockLeaseExtra = 10 * time.Second

type flight struct {
	done   chan struct{}
	forced bool
	tok    *Token
	err    error
}

// reason is why a refresh runs.
type reason int

const (
	reasonInitial  reason = iota // no token yet
	reasonStale                  // the token is in its refresh window
	reasonExpired                // the token ran out
	reasonRejected               // the API refused the token
	reasonForced                 // Refresh was called
)

func (r reason) String() string {
	return [...]string{"initial", "stale", "expired", "rejected", "forced"}[r]
}

// refreshJob is one flight's task.
type refreshJob struct {
	reason   reason
	rejected string // the access token the API refused, for reasonRejected
	start    time.Time
}

// startFlight starts the shared refresh. s.mu must be held. The refresh
// keeps the values of the ctx that started it but not its cancellation; it
// has its own deadline and ends early only on Close.
func (s *Source) startFlight(ctx context.Context, forced bool) *flight {
	f := &flight{done: make(chan struct{}), forced: forced}
	s.flight = f
	s.inflight.Store(true)
	job := refreshJob{reason: reasonExpired, start: time.Now()}
	snap := s.cur.Load()
	switch st := snap.state(job.start); {
	case forced:
		job.reason = reasonForced
	case st == noToken:
		job.reason = reasonInitial
	case snap.rejected:
		job.reason, job.rejected = reasonRejected, snap.tok.AccessToken
	case st == stale || st == fresh:
		job.reason = reasonStale
	}
	s.wg.Add(1)
	go s.fly(ctx, f, job)
	return f
}

func (s *Source) fly(ctx context.Context, f *flight, job refreshJob) {
	defer s.wg.Done()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	stop := context.AfterFunc(s.bg, cancel)
	tok, err := s.obtain(rctx, job)
	stop()
	cancel()
	s.mu.Lock()
	f.tok, f.err = tok, err
	s.flight = nil
	s.inflight.Store(false)
	s.mu.Unlock()
	close(f.done)
}

// obtain is the body of a shared refresh.
func (s *Source) obtain(ctx context.Context, job refreshJob) (*Token, error) {
	c, err := s.consult(ctx, job)
	defer c.unlock()
	switch {
	case err != nil:
		return nil, s.fail(err, job)
	case c.adopted != nil:
		return c.adopted, nil
	}
	st := s.loadState(ctx)
	if err := st.admit(job, c.base, time.Now()); err != nil {
		s.saveState(ctx, st)
		return nil, s.fail(err, job)
	}
	tok, err := s.mintAndSave(ctx, job, c)
	if err != nil {
		s.mu.Lock()
		next := s.back.nextTry
		s.mu.Unlock()
		st.hold(next, classOf(err))
	} else {
		st.minted(tok, time.Now())
	}
	s.saveState(ctx, st)
	return tok, err
}

// consultation is what a refresh learnt from the store.
type consultation struct {
	base    *Token // the token whose refresh token mints the next
	adopted *Token // a token another process saved, to use as it is
	unread  error  // why the store could not be read: nothing is saved over it
	unlock  func() // releases the store's lock, if it was taken
}

// consult takes the store's lock, when it is a Locker, and reads the store:
// it adopts a token another process saved, serves one that still works
// while the refresh goes on, and picks up a newer grant.
func (s *Source) consult(ctx context.Context, job refreshJob) (consultation, error) {
	c := consultation{base: s.cur.Load().token(), unlock: func() {}}
	if s.store == nil {
		return c, nil
	}
	lockErr, err := s.lockStore(ctx, &c)
	if err != nil {
		return c, err
	}
	if err := s.readStore(ctx, job, lockErr != nil, &c); err != nil || c.adopted != nil {
		return c, err
	}
	if lockErr != nil {
		return c, s.withoutLock(job, lockErr)
	}
	return c, nil
}

// lockStore takes the store's lock if it has one. A lock that cannot be had
// for another reason than the refresh's deadline is lockErr: the refresh
// may then go on without it (see withoutLock).
func (s *Source) lockStore(ctx context.Context, c *consultation) (lockErr, err error) {
	locker, ok := s.store.(Locker)
	if !ok {
		return nil, nil
	}
	unlock, err := locker.Lock(ctx, s.timeout+lockLeaseExtra)
	switch {
	case err == nil:
		c.unlock = unlock
		return nil, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("zohoauth: waiting for the store's lock: %w", err)
	}
	return err, nil
}

// readStore loads the stored token and decides what it is good for.
func (s *Source) readStore(ctx context.Context, job refreshJob, unlocked bool, c *consultation) error {
	stored, err := s.store.Load(ctx)
	switch {
	case errors.Is(err, ErrNoToken):
		return nil
	case errors.Is(err, ErrStoreDamaged):
		// Minting would cost one of Zoho's calls for a token that must
		// not be saved over the store: a person decides first.
		return fmt.Errorf("zohoauth: not refreshing over a store it cannot read: %w", err)
	case err != nil:
		s.log.Error("zohoauth: loading the stored token failed; a new token will not be saved over it", "error", err)
		if c.base == nil {
			return fmt.Errorf("zohoauth: loading the stored token: %w", err)
		}
		c.unread = err
		return nil
	}
	cur := c.base
	// Adopt a token another process saved if it is not stale (or, without
	// the lock, if it can still be sent: availability first).
	keep := s.window
	if unlocked {
		keep = s.margin()
	}
	if job.reason != reasonForced && newer(stored, cur, job.rejected, keep) {
		c.adopted = stored.sealed()
		s.succeed(c.adopted, false)
		s.log.Debug("zohoauth: adopted the stored token", "reason", job.reason, "expiry", c.adopted.Expiry)
		return nil
	}
	// Otherwise serve a stored token that can still be sent while the
	// refresh runs: if it fails, callers keep a working token.
	if newer(stored, cur, job.rejected, s.margin()) {
		s.mu.Lock()
		s.install(stored.sealed(), time.Now(), false)
		s.mu.Unlock()
	}
	if stored.RefreshToken != "" && (cur == nil || stored.RefreshToken != cur.RefreshToken) {
		c.base = stored // a newer grant was saved (e.g. by `zohoauth exchange`)
	}
	return nil
}

// withoutLock decides whether a refresh may go on without the store's lock.
func (s *Source) withoutLock(job refreshJob, lockErr error) error {
	if job.reason == reasonStale && s.cur.Load().usable(time.Now()) {
		// The token still works: keep serving it and try the lock again
		// later rather than refresh uncoordinated. Asked now, not when the
		// refresh started: while it waited for the lock, the token may have
		// been rejected or run out.
		return fmt.Errorf("zohoauth: store lock unavailable; keeping the current token: %w", lockErr)
	}
	if !s.allowUnlocked() {
		return fmt.Errorf("zohoauth: store lock unavailable and this process already refreshed without it recently: %w", lockErr)
	}
	s.log.Warn("zohoauth: store lock unavailable; refreshing without it", "error", lockErr)
	return nil
}

// newer reports whether stored is a token other than cur and the rejected
// one, at least as new as cur, with more than keep left before it expires.
func newer(stored, cur *Token, rejected string, keep time.Duration) bool {
	if stored.AccessToken == "" || stored.AccessToken == rejected || !time.Now().Before(stored.Expiry.Add(-keep)) {
		return false
	}
	return cur == nil || stored.AccessToken != cur.AccessToken && !stored.Expiry.Before(cur.Expiry)
}

// allowUnlocked lets one refresh without the store's lock happen per
// refresh window, so an outage of the lock's backend cannot turn into a
// refresh per request.
func (s *Source) allowUnlocked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if !s.unlocked.IsZero() && now.Sub(s.unlocked) < max(s.window, time.Minute) {
		return false
	}
	s.unlocked = now
	return true
}

// mintAndSave asks Zoho for a token, saves it and installs it.
func (s *Source) mintAndSave(ctx context.Context, job refreshJob, c consultation) (*Token, error) {
	s.log.Debug("zohoauth: refresh started", "reason", job.reason)
	tok, err := s.mint(ctx, &s.cfg, c.base, s)
	if err != nil {
		return nil, s.fail(err, job)
	}
	saveErr := s.save(ctx, tok, c.unread)
	s.succeed(tok, true)
	s.log.Info("zohoauth: refresh succeeded", "reason", job.reason, "expiry", tok.Expiry, "took", time.Since(job.start))
	if s.onRefresh != nil {
		if err := s.onRefresh(ctx, tok); err != nil {
			s.log.Error("zohoauth: refresh hook failed", "error", err)
		}
	}
	if job.reason == reasonForced && saveErr != nil {
		return tok, saveErr
	}
	return tok, nil
}

// save stores a freshly minted token, unless the store could not be read.
func (s *Source) save(ctx context.Context, tok *Token, unread error) error {
	if unread != nil {
		return fmt.Errorf("zohoauth: token refreshed but not saved: the store could not be read: %w", unread)
	}
	if s.store == nil {
		return nil
	}
	// The token is paid for: save it even if Close comes now, within the
	// refresh's deadline, so the next process need not mint again.
	sctx := context.WithoutCancel(ctx)
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		sctx, cancel = context.WithDeadline(sctx, d)
		defer cancel()
	}
	if err := s.store.Save(sctx, tok); err != nil {
		s.log.Error("zohoauth: saving the new token failed; using it in memory", "error", err)
		return fmt.Errorf("zohoauth: token refreshed but not saved: %w", err)
	}
	return nil
}

// fail records a failed refresh, sets the backoff, and returns err.
func (s *Source) fail(err error, job refreshJob) error {
	s.mu.Lock()
	now := time.Now()
	var usableUntil time.Time
	if snap := s.cur.Load(); snap.usable(now) {
		usableUntil = snap.useBy
	}
	s.back.failed(err, now, usableUntil, spread(s.calls, zohoMintLimit, zohoMintWindow))
	next := s.back.nextTry
	s.mu.Unlock()
	level := slog.LevelWarn
	if errors.Is(err, ErrReauthRequired) || errors.Is(err, ErrNoToken) {
		level = slog.LevelError
	}
	s.log.Log(context.Background(), level, "zohoauth: refresh failed", "reason", job.reason, "error", err,
		"took", now.Sub(job.start), "retry_after", next.Sub(now).Round(time.Millisecond))
	return err
}
