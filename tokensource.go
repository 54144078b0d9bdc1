package zohoauth

import (
	"context"
	"errors"
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

// expiryDelta: a token this close to its expiry is not sent any more. A
// second covers the trip to Zoho; a token that still arrives late is
// recovered by the Transport's 401 replay, with the refresh that the refresh
// window started minutes earlier already done.
const expiryDelta = time.Second

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
	cfg Config
	options
	mint mintFunc

	cur      atomic.Pointer[snapshot] // the token being served; nil before the first
	inflight atomic.Bool              // a refresh is running

	bg     context.Context // cancelled by Close
	stopBg context.CancelFunc
	wg     sync.WaitGroup

	// ledger keeps the call budget and the refresh state: the store's when
	// it is a Locker and a Ledger, else own.
	ledger Ledger
	own    *memLedger

	mu       sync.Mutex
	flight   *flight
	closed   bool
	back     backoff
	calls    []time.Time // the budget's calls in its window, as last seen
	unlocked time.Time   // last refresh done without the store's lock
}

// mintFunc gets a new token for a refresh: from base's refresh token, or,
// for grants without one, from the client's credentials.
type mintFunc func(ctx context.Context, cfg *Config, base *Token, gate callGate) (*Token, error)

func mintByRefresh(ctx context.Context, cfg *Config, base *Token, gate callGate) (*Token, error) {
	if base == nil {
		return nil, ErrNoToken
	}
	return cfg.refresh(ctx, base, gate)
}

// tokenState is what the served token is good for at a moment.
type tokenState int

const (
	noToken tokenState = iota // nothing to serve yet
	fresh                     // served at the cost of an atomic load
	stale                     // served, and one background refresh starts
	expired                   // expired, rejected or too close to expiry: callers wait
)

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

// state is the snapshot's state at now. A nil snapshot has noToken.
func (sn *snapshot) state(now time.Time) tokenState {
	switch {
	case sn == nil:
		return noToken
	case sn.rejected || !now.Before(sn.useBy):
		return expired
	case now.Before(sn.staleAt):
		return fresh
	}
	return stale
}

// usable reports whether the snapshot's token may still be sent at now.
func (sn *snapshot) usable(now time.Time) bool {
	st := sn.state(now)
	return st == fresh || st == stale
}

// token is the snapshot's token, nil for a nil snapshot.
func (sn *snapshot) token() *Token {
	if sn == nil {
		return nil
	}
	return sn.tok
}

// NewSource returns a Source that mints tokens with cfg. Give it a starting
// token (WithToken), a store to load one from (WithStore), or both. cfg is
// copied.
func NewSource(cfg *Config, opts ...Option) *Source { return newSource(cfg, mintByRefresh, opts) }

func newSource(cfg *Config, mint mintFunc, opts []Option) *Source {
	s := &Source{cfg: *cfg, options: newOptions(opts), mint: mint, own: &memLedger{}}
	s.ledger = s.own
	if l, ok := s.store.(Ledger); ok {
		if _, ok := s.store.(Locker); ok {
			s.ledger = l
		}
	}
	s.bg, s.stopBg = context.WithCancel(context.Background())
	if s.start != nil {
		s.install(s.start, time.Now(), false)
	}
	return s
}

// Token returns a valid access token, refreshing it if needed.
func (s *Source) Token(ctx context.Context) (*Token, error) {
	snap := s.cur.Load()
	now := time.Now()
	switch snap.state(now) {
	case fresh:
		return snap.tok, nil
	case stale:
		if !s.inflight.Load() {
			s.startBackground(snap, now)
		}
		return snap.tok, nil
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
	r := *snap
	r.rejected, r.ambiguous = true, ambiguous
	s.cur.Store(&r)
	s.log.Debug("zohoauth: access token rejected by the API")
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
	if s.flight == nil && !s.closed && !s.back.holds(now) && s.cur.Load() == snap {
		s.startFlight(context.Background(), false)
	}
}

// wait returns a usable token, joining or starting the shared refresh.
func (s *Source) wait(ctx context.Context, forced bool) (*Token, error) {
	for {
		f, again, tok, err := s.next(ctx, forced)
		if f == nil {
			return tok, err
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		if !again {
			return s.outcome(f, forced)
		}
	}
}

// next decides what a caller of wait does now: take a usable token, wait
// for a flight (and then, with again, look once more), or give up with
// what the backoff allows.
func (s *Source) next(ctx context.Context, forced bool) (f *flight, again bool, tok *Token, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	snap := s.cur.Load()
	switch f = s.flight; {
	case !forced && snap.usable(now):
		return nil, false, snap.tok, nil
	case f != nil && forced && !f.forced:
		return f, true, nil, nil // a forced refresh waits for the ordinary one, then starts its own
	case f != nil:
		return f, false, nil, nil
	case s.closed:
		return nil, false, nil, errClosed
	case s.back.holds(now) && !(forced && s.back.forcible()):
		tok, err := s.heldBack(snap, now, forced)
		return nil, false, tok, err
	}
	return s.startFlight(ctx, forced), false, nil, nil
}

// heldBack is what a caller gets while no refresh may happen. s.mu is held.
func (s *Source) heldBack(snap *snapshot, now time.Time, forced bool) (*Token, error) {
	err := s.back.lastErr
	// A rejected token that may still work elsewhere is better than nothing
	// while a refresh may not happen, unless the grant itself was refused:
	// then the caller must hear that re-authorization is needed.
	if snap != nil && now.Before(snap.useBy) && !forced && !errors.Is(err, ErrReauthRequired) {
		return snap.tok, nil
	}
	if err == nil {
		err = &Error{Op: "refresh", Class: ClassThrottled, Err: errBackoff}
	}
	return nil, err
}

// outcome is what a caller gets from the flight it waited for.
func (s *Source) outcome(f *flight, forced bool) (*Token, error) {
	if f.err == nil || forced {
		return f.tok, f.err
	}
	// The refresh failed, but a token that still works may have been
	// installed from the store: better than nothing. Otherwise the caller
	// gets what any caller gets during the backoff that failure set.
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	snap := s.cur.Load()
	switch {
	case snap.usable(now):
		return snap.tok, nil
	case s.back.holds(now):
		return s.heldBack(snap, now, false)
	}
	return nil, f.err
}

// succeed installs tok and clears the failure state.
func (s *Source) succeed(tok *Token, minted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.back.succeeded()
	s.install(tok, time.Now(), minted)
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
