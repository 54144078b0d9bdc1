package zohoauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// TokenSource supplies tokens. Token must be safe for concurrent use, must
// honour ctx, and the returned token must not be modified by the caller.
type TokenSource interface {
	Token(ctx context.Context) (*Token, error)
}

// Rejecter is implemented by sources that want to hear that the API refused
// a token they handed out (HTTP 401 INVALID_TOKEN). Transport calls Reject
// before it asks for a fresh token to replay a request.
type Rejecter interface {
	Reject(tok *Token)
}

// Defaults of a Source.
const (
	DefaultRefreshWindow  = 5 * time.Minute
	DefaultRefreshTimeout = 30 * time.Second
)

// Limits that keep a Source within what Zoho allows.
const (
	// expiryDelta: a token this close to its expiry is not sent any more.
	expiryDelta = 10 * time.Second
	// zohoMintLimit tokens per zohoMintWindow per refresh token.
	zohoMintLimit  = 10
	zohoMintWindow = 10 * time.Minute
	// backoff after a failed refresh doubles from backoffMin up to backoffMax.
	backoffMin = time.Second
	backoffMax = 5 * time.Minute
	// after a refusal that needs a new grant, wait at least this long.
	reauthBackoffMin = 30 * time.Second
	// a token rejected within rejectGrace of arriving counts as a failure:
	// refreshing again is unlikely to help (wrong DC, revoked grant).
	rejectGrace    = time.Minute
	rejectBackoff  = 10 * time.Second
	lockLeaseExtra = 10 * time.Second
)

// Source is a TokenSource that keeps a Zoho access token fresh.
//
// A token has three states. Fresh: Token returns it at the cost of an atomic
// load. Stale (within the refresh window before expiry): Token still returns
// it and starts at most one background refresh. Expired or rejected: callers
// wait for one shared refresh, each until its own ctx ends; the refresh
// itself runs with its own deadline and is not cancelled by any caller.
//
// After a failed refresh a Source backs off instead of retrying on every
// request; when Zoho throttles, it waits out Zoho's window while serving any
// token that is still valid; and it never asks Zoho for more than 10 access
// tokens in 10 minutes, whatever its callers do.
//
// With a Store (WithStore), the Source loads the stored token on first use
// and saves every token it gets. If the store is also a Locker, refreshes are
// coordinated across every process sharing it: lock, load again, adopt a
// token another process saved, or refresh and save; then unlock.
//
// A Source starts goroutines only to refresh; Close stops them.
type Source struct {
	cfg       Config
	store     Store
	window    time.Duration
	timeout   time.Duration
	log       *slog.Logger
	onRefresh func(context.Context, *Token) error
	// mint gets a new token for obtain. nil means refresh base with cfg;
	// grants without refresh tokens (client credentials) set their own.
	mint  func(ctx context.Context, base *Token, gate callGate) (*Token, error)
	start *Token // WithToken's token, installed by NewSource

	cur      atomic.Pointer[snapshot] // the token being served; nil before the first
	inflight atomic.Bool              // a refresh is running

	bg     context.Context // cancelled by Close
	stopBg context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	flight   *flight
	closed   bool
	failures int       // consecutive failed refreshes
	rejects  int       // consecutive rejections of young tokens
	nextTry  time.Time // no refresh before this (backoff, throttle)
	lastErr  error     // why the last refresh failed
	mints    []time.Time
	unlocked time.Time // last refresh done without the store's lock
}

// snapshot is an immutable view of the served token.
type snapshot struct {
	tok       *Token
	staleAt   time.Time // start of the refresh window
	useBy     time.Time // expiry less margin(): last moment it is sent
	installed time.Time
	minted    bool // came from a refresh by this source
	rejected  bool
	// ambiguous: rejected with an answer that may mean a missing scope
	// rather than a dead token (see Product.Ambiguous).
	ambiguous bool
}

// usable reports whether the snapshot's token may still be sent at now:
// there is one, the API has not refused it, and it is not too close to its
// expiry.
func (sn *snapshot) usable(now time.Time) bool {
	return sn != nil && !sn.rejected && now.Before(sn.useBy)
}

type flight struct {
	done   chan struct{}
	forced bool
	tok    *Token
	err    error
}

// Option configures a Source.
type Option interface{ apply(*Source) }

type optionFunc func(*Source)

func (f optionFunc) apply(s *Source) { f(s) }

// WithToken starts the source from tok, for example the result of Exchange
// or a token rebuilt from saved values. A token without a refresh token is
// served until it expires and cannot be renewed.
func WithToken(tok *Token) Option {
	return optionFunc(func(s *Source) {
		if tok != nil {
			s.start = tok.sealed()
		}
	})
}

// WithStore makes the source load its token from store on first use and save
// every new token to it. See Source for how a Locker store coordinates.
func WithStore(store Store) Option { return optionFunc(func(s *Source) { s.store = store }) }

// WithRefreshWindow sets how long before expiry a token counts as stale and a
// background refresh starts. The default is DefaultRefreshWindow. Keep it
// below the token lifetime.
func WithRefreshWindow(d time.Duration) Option {
	return optionFunc(func(s *Source) {
		if d >= 0 {
			s.window = d
		}
	})
}

// WithRefreshTimeout bounds one shared refresh, including the wait for the
// store's lock. The default is DefaultRefreshTimeout.
func WithRefreshTimeout(d time.Duration) Option {
	return optionFunc(func(s *Source) {
		if d > 0 {
			s.timeout = d
		}
	})
}

// WithLogger makes the source log refresh events (debug: started; info:
// succeeded; warn/error: failed). Tokens and secrets are never logged. By
// default a Source logs nothing.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(s *Source) { s.log = l }) }

// WithOnRefresh calls fn after every token the source mints and stores. An
// error from fn is logged; it does not undo the refresh.
func WithOnRefresh(fn func(ctx context.Context, tok *Token) error) Option {
	return optionFunc(func(s *Source) { s.onRefresh = fn })
}

// NewSource returns a Source that mints tokens with cfg. Give it a starting
// token (WithToken), a store to load one from (WithStore), or both. cfg is
// copied.
func NewSource(cfg *Config, opts ...Option) *Source {
	s := &Source{cfg: *cfg, window: DefaultRefreshWindow, timeout: DefaultRefreshTimeout}
	s.bg, s.stopBg = context.WithCancel(context.Background())
	for _, o := range opts {
		o.apply(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.start != nil {
		s.install(s.start, time.Now(), false)
	}
	return s
}

// Token returns a valid access token, refreshing it if needed.
func (s *Source) Token(ctx context.Context) (*Token, error) {
	if snap := s.cur.Load(); snap != nil && !snap.rejected {
		now := time.Now()
		if now.Before(snap.staleAt) {
			return snap.tok, nil
		}
		if now.Before(snap.useBy) {
			if !s.inflight.Load() {
				s.startBackground(snap, now)
			}
			return snap.tok, nil
		}
	}
	return s.wait(ctx, false)
}

// Refresh mints a new access token now, whatever the state of the current
// one, as a cron job does. It is coordinated through the store like any
// refresh and respects Zoho's limits. If the new token could not be saved,
// it returns the token together with an error saying so.
func (s *Source) Refresh(ctx context.Context) (*Token, error) {
	return s.wait(ctx, true)
}

// Reject tells the source that the API refused tok. If tok is still the
// token being served, the next Token call refreshes; a token that was
// already replaced is ignored, so many concurrent 401s cause one refresh.
func (s *Source) Reject(tok *Token) { s.reject(tok, false) }

// rejectAmbiguous is Reject for an answer that may mean a dead token or a
// missing scope. The token that replaces tok is born marked (see
// authValues.ambiguous): if it gets the same answer, the scope is missing,
// and it is not refreshed for it. Marking at birth, before any request can
// use the new token, keeps concurrent requests from refreshing it again.
func (s *Source) rejectAmbiguous(tok *Token) { s.reject(tok, true) }

func (s *Source) reject(tok *Token, ambiguous bool) {
	if tok == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.cur.Load()
	if snap == nil || snap.rejected || snap.tok.AccessToken != tok.AccessToken {
		return
	}
	now := time.Now()
	if snap.minted && now.Sub(snap.installed) < rejectGrace {
		// The last refresh's token was refused at once: one more refresh
		// may help (it could have been evicted), a streak will not.
		s.rejects++
		if s.rejects >= 2 {
			s.nextTry = later(s.nextTry, now.Add(backoff(rejectBackoff, s.rejects-1)))
		}
	} else {
		s.rejects = 0
	}
	r := *snap
	r.rejected, r.ambiguous = true, ambiguous
	s.cur.Store(&r)
	s.log.Debug("zohoauth: access token rejected by the API", "young_rejections", s.rejects)
}

// Close stops background refreshes and waits for them to end. A token that
// was already minted is still saved to the store. Tokens that are still
// valid keep being served; anything that needs a refresh fails.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stopBg()
	s.wg.Wait()
	return nil
}

var errClosed = errors.New("zohoauth: source is closed")

// startBackground starts a refresh of the stale token snap, unless one is
// running, the source is backing off, or snap was replaced meanwhile (a
// refresh that just ended installed a fresh token: a second one would spend
// one of Zoho's 10 calls per 10 minutes for nothing).
func (s *Source) startBackground(snap *snapshot, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flight == nil && !s.closed && !now.Before(s.nextTry) && s.cur.Load() == snap {
		s.startFlight(context.Background(), false)
	}
}

// wait returns a usable token, joining or starting the shared refresh.
func (s *Source) wait(ctx context.Context, forced bool) (*Token, error) {
	for {
		s.mu.Lock()
		now := time.Now()
		snap := s.cur.Load()
		if !forced && snap.usable(now) {
			s.mu.Unlock()
			return snap.tok, nil
		}
		f := s.flight
		switch {
		case f != nil && forced && !f.forced:
			// A forced refresh waits for the running ordinary one, then
			// starts its own.
			s.mu.Unlock()
			select {
			case <-f.done:
				continue
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		case f == nil && s.closed:
			s.mu.Unlock()
			return nil, errClosed
		case f == nil && now.Before(s.nextTry) && !s.forceThroughBackoff(forced):
			err := s.lastErr
			s.mu.Unlock()
			// A rejected token that may still work elsewhere is better than
			// nothing while a refresh may not happen, unless the grant
			// itself was refused: then the caller must hear that
			// re-authorization is needed.
			if snap != nil && now.Before(snap.useBy) && !forced && !errors.Is(err, ErrReauthRequired) {
				return snap.tok, nil
			}
			if err == nil {
				err = &Error{Op: "refresh", Class: ClassThrottled, Err: errBackoff}
			}
			return nil, err
		case f == nil:
			f = s.startFlight(ctx, forced)
		}
		s.mu.Unlock()
		select {
		case <-f.done:
			if f.err != nil && !forced {
				// The refresh failed, but a token that still works may
				// have been installed from the store: better than nothing.
				if snap := s.cur.Load(); snap.usable(time.Now()) {
					return snap.tok, nil
				}
			}
			return f.tok, f.err
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// forceThroughBackoff reports whether a forced refresh (a cron job) may go
// ahead during a backoff: yes after an ordinary failure, not while Zoho's
// throttle or a rejection streak holds. s.mu must be held.
func (s *Source) forceThroughBackoff(forced bool) bool {
	return forced && s.lastErr != nil && !errors.Is(s.lastErr, ErrThrottled)
}

var errBackoff = errors.New("refresh is backing off after the API rejected fresh tokens")

// startFlight starts the shared refresh. s.mu must be held. The refresh
// keeps the values of the ctx that started it but not its cancellation; it
// has its own deadline and ends early only on Close.
func (s *Source) startFlight(ctx context.Context, forced bool) *flight {
	f := &flight{done: make(chan struct{}), forced: forced}
	s.flight = f
	s.inflight.Store(true)
	var rejected string
	var reason = "expired"
	snap := s.cur.Load()
	switch {
	case forced:
		reason = "forced"
	case snap == nil:
		reason = "initial"
	case snap.rejected:
		reason = "rejected"
		rejected = snap.tok.AccessToken
	case time.Now().Before(snap.useBy):
		reason = "stale"
	}
	if reason == "stale" || reason == "expired" {
		s.rejects = 0 // the token lived its life; earlier rejections are history
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		stop := context.AfterFunc(s.bg, cancel)
		tok, err := s.obtain(rctx, reason, rejected)
		stop()
		cancel()
		s.mu.Lock()
		f.tok, f.err = tok, err
		s.flight = nil
		s.inflight.Store(false)
		s.mu.Unlock()
		close(f.done)
	}()
	return f
}

// obtain is the body of a shared refresh: consult the store under its lock,
// adopt a newer stored token, or mint one and save it.
func (s *Source) obtain(ctx context.Context, reason, rejected string) (*Token, error) {
	start := time.Now()
	forced := reason == "forced"
	var cur *Token
	if snap := s.cur.Load(); snap != nil {
		cur = snap.tok
	}
	base := cur
	var unread error // why the store could not be read, if it could not
	if s.store != nil {
		var lockErr error
		if locker, ok := s.store.(Locker); ok {
			unlock, err := locker.Lock(ctx, s.timeout+lockLeaseExtra)
			if err != nil {
				if ctx.Err() != nil {
					return nil, s.fail(fmt.Errorf("zohoauth: waiting for the store's lock: %w", err), reason, start)
				}
				lockErr = err
			} else {
				defer unlock()
			}
		}
		stored, err := s.store.Load(ctx)
		switch {
		case err == nil:
			// Adopt a token another process saved if it is not stale (or,
			// without the lock, if it can still be sent: availability first).
			keep := s.window
			if lockErr != nil {
				keep = s.margin()
			}
			if !forced && s.newer(stored, cur, rejected, keep) {
				tok := stored.sealed()
				s.succeed(tok, false)
				s.log.Debug("zohoauth: adopted the stored token", "reason", reason, "expiry", tok.Expiry)
				return tok, nil
			}
			// Otherwise serve a stored token that can still be sent while
			// the refresh runs: if it fails, callers keep a working token.
			if s.newer(stored, cur, rejected, s.margin()) {
				s.mu.Lock()
				s.install(stored.sealed(), time.Now(), false)
				s.mu.Unlock()
			}
			if stored.RefreshToken != "" && (cur == nil || stored.RefreshToken != cur.RefreshToken) {
				base = stored // a newer grant was saved (e.g. by `zohoauth exchange`)
			}
		case errors.Is(err, ErrNoToken):
		case errors.Is(err, ErrStoreDamaged):
			// Minting would cost one of Zoho's calls for a token that must
			// not be saved over the store: a person decides first.
			return nil, s.fail(fmt.Errorf("zohoauth: not refreshing over a store it cannot read: %w", err), reason, start)
		default:
			s.log.Error("zohoauth: loading the stored token failed; a new token will not be saved over it", "error", err)
			if base == nil {
				return nil, s.fail(fmt.Errorf("zohoauth: loading the stored token: %w", err), reason, start)
			}
			unread = err
		}
		if lockErr != nil {
			if reason == "stale" && s.cur.Load().usable(time.Now()) {
				// The token still works: keep serving it and try the lock
				// again later rather than refresh uncoordinated. Asked now,
				// not when the refresh started: while it waited for the
				// lock, the token may have been rejected or run out.
				return nil, s.fail(fmt.Errorf("zohoauth: store lock unavailable; keeping the current token: %w", lockErr), reason, start)
			}
			if !s.allowUnlocked() {
				return nil, s.fail(fmt.Errorf("zohoauth: store lock unavailable and this process already refreshed without it recently: %w", lockErr), reason, start)
			}
			s.log.Warn("zohoauth: store lock unavailable; refreshing without it", "error", lockErr)
		}
	}
	mint := s.mint
	if mint == nil {
		if base == nil {
			return nil, s.fail(ErrNoToken, reason, start)
		}
		mint = s.cfg.refresh
	}
	s.log.Debug("zohoauth: refresh started", "reason", reason)
	tok, err := mint(ctx, base, s)
	if err != nil {
		return nil, s.fail(err, reason, start)
	}
	var saveErr error
	switch {
	case unread != nil:
		saveErr = fmt.Errorf("zohoauth: token refreshed but not saved: the store could not be read: %w", unread)
	case s.store != nil:
		// The token is paid for: save it even if Close comes now, within
		// the refresh's deadline, so the next process need not mint again.
		sctx := context.WithoutCancel(ctx)
		if d, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			sctx, cancel = context.WithDeadline(sctx, d)
			defer cancel()
		}
		if saveErr = s.store.Save(sctx, tok); saveErr != nil {
			s.log.Error("zohoauth: saving the new token failed; using it in memory", "error", saveErr)
			saveErr = fmt.Errorf("zohoauth: token refreshed but not saved: %w", saveErr)
		}
	}
	s.succeed(tok, true)
	s.log.Info("zohoauth: refresh succeeded", "reason", reason, "expiry", tok.Expiry, "took", time.Since(start))
	if s.onRefresh != nil {
		if err := s.onRefresh(ctx, tok); err != nil {
			s.log.Error("zohoauth: refresh hook failed", "error", err)
		}
	}
	if forced && saveErr != nil {
		return tok, saveErr
	}
	return tok, nil
}

// newer reports whether stored is a token other than cur and the rejected
// one, at least as new as cur, with more than keep left before it expires.
func (s *Source) newer(stored, cur *Token, rejected string, keep time.Duration) bool {
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

// allowMint is asked before the first attempt of every token call: at most
// zohoMintLimit calls in any zohoMintWindow.
func (s *Source) allowMint() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.takeSlot(time.Now())
}

// allowRetry is asked before a retry within one token call. Only the first
// call after a success retries: once refreshes are failing, each one makes a
// single attempt and the backoff between them does the spacing, so an outage
// does not burn the budget in seconds. at is when the retry will be sent,
// after its backoff: Zoho counts it then, so its slot must free no sooner.
func (s *Source) allowRetry(at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures == 0 && s.takeSlot(at)
}

// takeSlot records a call to be sent at at (now or after a retry's
// backoff) if the window has room now. s.mu must be held.
func (s *Source) takeSlot(at time.Time) bool {
	now := time.Now()
	keep := s.mints[:0]
	for _, t := range s.mints {
		if now.Sub(t) < zohoMintWindow {
			keep = append(keep, t)
		}
	}
	s.mints = keep
	if len(s.mints) >= zohoMintLimit {
		s.nextTry = later(s.nextTry, s.mints[0].Add(zohoMintWindow))
		return false
	}
	s.mints = append(s.mints, at)
	return true
}

// succeed installs tok and clears the failure state.
func (s *Source) succeed(tok *Token, minted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = 0
	s.lastErr = nil
	// A new token ends any backoff: after failures (a forced refresh may
	// have gone through it) as after rejections. A streak of rejected
	// fresh tokens sets its backoff again in Reject, after this.
	s.nextTry = time.Time{}
	s.install(tok, time.Now(), minted)
}

// fail records a failed refresh, sets the backoff, and returns err.
func (s *Source) fail(err error, reason string, start time.Time) error {
	s.mu.Lock()
	now := time.Now()
	s.failures++
	wait := backoff(backoffMin, s.failures)
	if errors.Is(err, ErrReauthRequired) {
		// Only a new grant helps; it may arrive through the store, so look
		// again now and then, not at every request.
		wait = backoff(reauthBackoffMin, s.failures)
	}
	if errors.Is(err, ErrThrottled) {
		wait = zohoMintWindow
		if errors.Is(err, errBudget) {
			wait = 0 // takeSlot already set nextTry to the end of the window
		}
	}
	next := now.Add(wait)
	if snap := s.cur.Load(); snap.usable(now) && snap.useBy.Before(next) && !errors.Is(err, ErrThrottled) {
		next = snap.useBy // try again at the latest when the served token runs out
	}
	s.nextTry = later(s.nextTry, next)
	s.lastErr = err
	s.mu.Unlock()
	level := slog.LevelWarn
	if errors.Is(err, ErrReauthRequired) || errors.Is(err, ErrNoToken) {
		level = slog.LevelError
	}
	s.log.Log(context.Background(), level, "zohoauth: refresh failed", "reason", reason, "error", err,
		"took", now.Sub(start), "retry_after", s.nextTry.Sub(now).Round(time.Millisecond))
	return err
}

// install makes tok the served token. s.mu must be held, or s not shared yet.
func (s *Source) install(tok *Token, now time.Time, minted bool) {
	// Short-lived tokens (tests, fakes) get a margin that fits inside them.
	useBy := tok.Expiry.Add(-s.margin())
	staleAt := tok.Expiry.Add(-s.window)
	if staleAt.After(useBy) {
		staleAt = useBy
	}
	if prev := s.cur.Load(); prev != nil && prev.ambiguous && tok.auth != nil {
		tok.auth.ambiguous.Store(true)
	}
	s.cur.Store(&snapshot{tok: tok, staleAt: staleAt, useBy: useBy, installed: now, minted: minted})
}

// margin is how long before its expiry a token stops being sent: expiryDelta,
// or half the refresh window for short-lived tokens (tests, fakes).
func (s *Source) margin() time.Duration { return min(expiryDelta, s.window/2) }

func backoff(base time.Duration, n int) time.Duration {
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
