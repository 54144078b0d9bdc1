package zohoauth

import (
	"context"
	"sync"
	"time"
)

// Store persists one Zoho account's token so that a restarted service, a
// cron job and other processes can pick it up instead of minting new ones.
//
// Contract, for every implementation:
//   - Load returns the most recently saved token. When nothing has been saved
//     yet it returns an error that matches ErrNoToken (errors.Is); any other
//     error means the store could not be read or its content is damaged, and
//     the caller must not treat it as "empty".
//   - Save replaces the stored token with tok, completely or not at all: a
//     failed Save leaves the previous token in place. A store shared by many
//     hosts may instead keep a stored token that expires later than tok (so
//     a holder paused past its lock's lease cannot overwrite its successor's
//     newer token); it then returns nil.
//   - Load and Save are safe for concurrent use. Neither keeps tok or the
//     returned token: callers may not modify a token they passed in or got
//     back while the store could still see it, and the store copies.
//   - ctx bounds the call; an implementation returns ctx's error when it ends.
type Store interface {
	Load(ctx context.Context) (*Token, error)
	Save(ctx context.Context, tok *Token) error
}

// Locker is implemented by stores that can make one refresh happen at a time
// across every process sharing the store. A Source whose store is a Locker
// refreshes like this: lock, load again, adopt a fresh token if another
// process saved one, otherwise refresh and save, then unlock.
//
// Lock waits until the caller holds the lock or ctx ends (returning ctx's
// error, wrapped). The lock stays held until unlock is called or, where the
// store uses leases, at least lease has passed; lease is the longest the
// holder may need. unlock is safe to call more than once and releases only
// the caller's own hold.
type Locker interface {
	Lock(ctx context.Context, lease time.Duration) (unlock func(), err error)
}

// Ledger is implemented by stores that are also Lockers and keep, beside
// the token, what every Source sharing them must know together to stay
// within Zoho's limits, which belong to the refresh token and not to a
// process: the token calls made for it (Zoho allows 10 in 10 minutes) and a
// small state of the package's own (when the next call may be made, which
// fresh token the API refused). With a Ledger store, every Source and
// process sharing it counts against one budget; a store that is not a
// Ledger gives each Source a budget of its own.
//
// Contract, for every implementation:
//   - TakeCall records a token call to be sent at at (now, or later for a
//     retry after its wait) if fewer than limit recorded calls are younger
//     than window at now; otherwise it records nothing. It returns ok and the
//     recorded calls younger than window, oldest first, the new one included
//     when ok. Checking and recording are one atomic step for every user of
//     the store, wherever it runs; the store may forget calls older than
//     window and must keep no more than limit.
//   - LoadState returns the bytes SaveState last stored, or nil and no error
//     when none were. SaveState replaces them, completely or not at all;
//     states are at most MaxLedgerState bytes, and a store refuses larger
//     ones and treats a larger stored value as none. Sources call both only
//     while they hold the store's lock.
//   - The methods are safe for concurrent use; ctx bounds each call.
//
// zohotest/storetest checks a Ledger against this contract.
type Ledger interface {
	TakeCall(ctx context.Context, now, at time.Time, limit int, window time.Duration) (ok bool, calls []time.Time, err error)
	LoadState(ctx context.Context) ([]byte, error)
	SaveState(ctx context.Context, state []byte) error
}

// MaxLedgerState bounds the state a Ledger keeps, in bytes.
const MaxLedgerState = 4 << 10

// Deleter is implemented by stores that can remove their token, as done after
// the refresh token is revoked.
type Deleter interface {
	Delete(ctx context.Context) error
}

// MemoryStore keeps a token in memory. It survives nothing, but lets several
// Sources in one process share one token, one refresh and one budget of
// token calls (it is a Locker and a Ledger). The zero value is an empty
// store ready to use.
type MemoryStore struct {
	memLedger
	mu   sync.Mutex
	tok  *Token
	lock semaphore // created on first Lock
}

// Load returns a copy of the saved token, or ErrNoToken.
func (m *MemoryStore) Load(ctx context.Context) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tok == nil {
		return nil, ErrNoToken
	}
	c := *m.tok
	c.auth = nil
	return &c, nil
}

// Save stores a copy of tok.
func (m *MemoryStore) Save(ctx context.Context, tok *Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkSavable(tok); err != nil {
		return err
	}
	c := *tok
	c.auth = nil
	m.mu.Lock()
	m.tok = &c
	m.mu.Unlock()
	return nil
}

// TakeCall implements Ledger for the Sources of this process.
func (m *MemoryStore) TakeCall(ctx context.Context, now, at time.Time, limit int, window time.Duration) (bool, []time.Time, error) {
	return m.memLedger.TakeCall(ctx, now, at, limit, window)
}

// LoadState implements Ledger.
func (m *MemoryStore) LoadState(ctx context.Context) ([]byte, error) {
	return m.memLedger.LoadState(ctx)
}

// SaveState implements Ledger.
func (m *MemoryStore) SaveState(ctx context.Context, state []byte) error {
	return m.memLedger.SaveState(ctx, state)
}

// Delete forgets the saved token.
func (m *MemoryStore) Delete(ctx context.Context) error {
	m.mu.Lock()
	m.tok = nil
	m.mu.Unlock()
	return nil
}

// Lock implements Locker within this process. lease is ignored: the lock is
// held until unlock.
func (m *MemoryStore) Lock(ctx context.Context, lease time.Duration) (func(), error) {
	m.mu.Lock()
	if m.lock == nil {
		m.lock = newSemaphore()
	}
	sem := m.lock
	m.mu.Unlock()
	if err := sem.acquire(ctx); err != nil {
		return nil, err
	}
	return sync.OnceFunc(sem.release), nil
}

// semaphore is a lock that a waiter can give up on through its context. It
// holds one value while locked.
type semaphore chan struct{}

func newSemaphore() semaphore { return make(semaphore, 1) }

func (s semaphore) acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (s semaphore) release() { <-s }

// checkSavable refuses what must never be persisted: nothing, or a response
// without an access token (an error body mistaken for a token).
func checkSavable(tok *Token) error {
	if tok == nil || tok.AccessToken == "" {
		return errNotAToken
	}
	return nil
}
