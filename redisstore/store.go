package redisstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bsm/redislock"
	"github.com/go-zoho/zohoauth"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key the store writes unless WithPrefix says
// otherwise.
const DefaultPrefix = "zohoauth:"

// Store keeps the token of one Zoho account in Redis. It is safe for
// concurrent use by any number of goroutines and processes.
type Store struct {
	client   redis.UniversalClient
	locks    *redislock.Client
	tokenKey string
	lockKey  string
	callsKey string
	stateKey string
}

// Option changes how New sets up a Store.
type Option interface{ apply(*options) }

type options struct {
	prefix string
}

type prefixOption string

func (p prefixOption) apply(o *options) { o.prefix = string(p) }

// WithPrefix puts the store's keys under prefix instead of DefaultPrefix, for
// example "myapp:zoho:". An empty prefix is allowed.
func WithPrefix(prefix string) Option { return prefixOption(prefix) }

// New returns a store for the Zoho account named account (any name the
// application chooses, such as "crm-prod"), kept in Redis through client.
// client may be a single node, sentinel or cluster client. The store does not
// own the client: closing it is the caller's job.
//
// New panics if client is nil or account is empty: both are programming
// errors, and an empty account would defeat the cluster hash tag.
func New(client redis.UniversalClient, account string, opts ...Option) *Store {
	if client == nil {
		panic("redisstore: New called with a nil client")
	}
	if account == "" {
		panic("redisstore: New called with an empty account name")
	}
	o := options{prefix: DefaultPrefix}
	for _, opt := range opts {
		opt.apply(&o)
	}
	base := o.prefix + "{" + account + "}:"
	return &Store{
		client:   client,
		locks:    redislock.New(client),
		tokenKey: base + "token",
		lockKey:  base + "lock",
		callsKey: base + "calls",
		stateKey: base + "state",
	}
}

// MaxValueSize bounds the stored value Load accepts, in bytes: a token is a
// few hundred. A larger value is reported as damaged without being sent
// from Redis.
const MaxValueSize = 64 << 10

// MaxExpiryAhead is how far in the future a stored token's expiry may lie.
// Zoho access tokens live one hour; the second hour allows for a host
// whose clock is ahead of the others by up to an hour. A stored token that
// claims to expire later than that was written by a host whose clock is
// badly wrong, or is not what it claims to be: kept, it would look newer
// than every real token, so that every later Save kept it and did nothing
// while the processes went on minting. Load therefore reports it as damaged
// (a Source then stops and says so), an explicit Save overwrites it, and
// Save refuses a token of its own that expires further ahead of Redis's
// clock than this.
const MaxExpiryAhead = 2 * time.Hour

// Load returns the stored token. It returns an error matching
// zohoauth.ErrNoToken when the key does not exist, and another error when
// Redis cannot be reached or the key holds something that is not a token:
// not a token's JSON, larger than MaxValueSize, or expiring more than
// MaxExpiryAhead from now. That error matches zohoauth.ErrStoreDamaged: a
// Source does not refresh over such a value; delete the key or Save a token
// on purpose.
func (s *Store) Load(ctx context.Context) (*zohoauth.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: load: %w", err)
	}
	v, err := loadScript.Run(ctx, s.client, []string{s.tokenKey}, MaxValueSize).Result()
	if errors.Is(err, redis.Nil) {
		return nil, zohoauth.ErrNoToken
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: load: %w", err)
	}
	var tok *zohoauth.Token
	switch v := v.(type) {
	case string:
		tok, err = decode([]byte(v), time.Now())
	case int64:
		err = fmt.Errorf("%w: it is %d bytes long, more than the %d a token can take", errDamaged, v, MaxValueSize)
	default:
		err = fmt.Errorf("%w: Redis answered with a %T", errDamaged, v)
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: load %s: %w; delete the key or save a new token (a Source will not write over it)", s.tokenKey, err)
	}
	return tok, nil
}

//go:embed load.lua
var loadLua string

var loadScript = redis.NewScript(loadLua)

// errDamaged is Load's error for a value that is not a token. It matches
// zohoauth.ErrStoreDamaged, so a Source does not refresh over it.
var errDamaged error = damagedValue{}

type damagedValue struct{}

func (damagedValue) Error() string        { return "stored value is not a token" }
func (damagedValue) Is(target error) bool { return target == zohoauth.ErrStoreDamaged }

// decode parses a stored value read at now. Its errors never quote the
// value, which holds secrets.
func decode(b []byte, now time.Time) (*zohoauth.Token, error) {
	var tok zohoauth.Token
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		return nil, errDamaged
	}
	if limit := now.Add(MaxExpiryAhead); tok.Expiry.After(limit) {
		return nil, fmt.Errorf("%w: its expiry, %s, is more than %v ahead, longer than any Zoho token lives "+
			"(written by a host whose clock is ahead?)", errDamaged, tok.Expiry.UTC().Format(time.RFC3339), MaxExpiryAhead)
	}
	return &tok, nil
}

// Save stores tok unless the stored token is newer.
//
// The value is written with one SET of tok's complete JSON form and no TTL:
// Zoho refresh tokens live until revoked, and an expiring key would drop
// one. Save refuses a nil token and one without an access token.
//
// "Newer" means a later Expiry. If the stored token expires after tok, Save
// leaves it in place and returns nil: the store already holds a better
// token. This keeps a holder that was paused past its lock lease (a long GC
// or VM pause, a process thawed from SIGSTOP) from writing its older token
// over the one its successor saved. It relies on the hosts' clocks agreeing
// to within a small part of the refresh interval, which NTP gives. To
// replace a token with an older one on purpose, Delete first. A stored value
// that is not a token, or whose expiry lies more than MaxExpiryAhead past
// Redis's clock, is overwritten. A tok whose own expiry lies that far ahead
// of Redis's clock is refused with an error: the clock of this host or of
// Redis is wrong.
//
// The comparison and the SET run in Redis as one Lua script, so concurrent
// saves cannot interleave and none has to be retried.
func (s *Store) Save(ctx context.Context, tok *zohoauth.Token) error {
	if tok == nil || tok.AccessToken == "" {
		return errNotAToken
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: save: %w", err)
	}
	data, err := json.Marshal(tok)
	if err != nil {
		return fmt.Errorf("redisstore: save: encoding the token: %w", err)
	}
	exp := tok.Expiry
	res, err := saveScript.Run(ctx, s.client, []string{s.tokenKey}, data, exp.Unix(), exp.Nanosecond(),
		int64(MaxExpiryAhead/time.Second)).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: save: %w", err)
	}
	if res < 0 {
		return fmt.Errorf("redisstore: save: refusing a token that expires at %s, more than %v after Redis's clock, "+
			"longer than any Zoho token lives: check the clocks of this host and of Redis (NTP); the stored token is unchanged",
			exp.UTC().Format(time.RFC3339), MaxExpiryAhead)
	}
	return nil
}

//go:embed save.lua
var saveLua string

var saveScript = redis.NewScript(saveLua)

var errNotAToken = errors.New("redisstore: refusing to save a token without an access token")

// Delete removes the stored token, as done after its refresh token has been
// revoked. Deleting a missing token is not an error.
func (s *Store) Delete(ctx context.Context) error {
	if err := s.client.Del(ctx, s.tokenKey).Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	return nil
}

// LockTTL is the longest the lock key lives without being renewed: a holder
// that dies (a crash, SIGKILL) frees the lock within LockTTL.
const LockTTL = 5 * time.Second

// defaultLease is the lease of a Lock called with none.
const defaultLease = 30 * time.Second

// Lock takes the account's refresh lock, waiting until it is free or ctx
// ends. Waiting polls Redis with exponential backoff from 16 ms up to 250 ms.
//
// The lock is a key set with NX and a random holder id, with a short TTL:
// LockTTL, or less for a lease so short that the key outlives it anyway
// (lease + 1 s + lease/10). While the lock is held, a goroutine renews the
// TTL every third of it, until unlock or until lease has passed (lease <= 0
// counts as 30 s): a live holder keeps the lock for as long as it said it
// might need it, and one that dies frees it within LockTTL. A renewal that
// finds the key gone or taken stops renewing; Save's expiry check then keeps
// the holder from writing an older token over its successor's.
//
// unlock stops the renewal, waits for it to end (at most a third of the TTL),
// and deletes the key only if it still holds this holder's id; it is safe to
// call more than once.
//
// A Redis error ends Lock at once with that error, without retrying: the
// caller decides what to do without a token store, rather than waiting out
// the client's retries.
func (s *Store) Lock(ctx context.Context, lease time.Duration) (unlock func(), err error) {
	if lease <= 0 {
		lease = defaultLease
	}
	ttl := leaseTTL(lease)
	wait := redislock.ExponentialBackoff(16*time.Millisecond, 250*time.Millisecond)
	for {
		// One attempt per call: a failed attempt is either a held lock,
		// worth waiting for, or a Redis error, returned at once.
		l, err := s.locks.Obtain(ctx, s.lockKey, ttl, nil)
		switch {
		case err == nil:
			return hold(l, ttl, time.Now().Add(lease)), nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("redisstore: waiting for the lock: %w", context.Cause(ctx))
		case !errors.Is(err, redislock.ErrNotObtained):
			return nil, fmt.Errorf("redisstore: lock: %w", err)
		}
		t := time.NewTimer(wait.NextBackoff())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("redisstore: waiting for the lock: %w", context.Cause(ctx))
		}
	}
}

// leaseTTL is the lock key's TTL for a holder that may need lease: LockTTL,
// or lease + 1 s + lease/10 when that is shorter, so that a short lease
// needs no renewal.
func leaseTTL(lease time.Duration) time.Duration {
	return min(LockTTL, lease+time.Second+lease/10)
}

// hold renews l's TTL in the background until the returned unlock is called
// or until is reached, and returns unlock. Releasing waits for the renewal
// to end and is bounded by the TTL: past it the key has expired anyway.
func hold(l *redislock.Lock, ttl time.Duration, until time.Time) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go renew(ctx, l, ttl, until, done)
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
			rctx, rcancel := context.WithTimeout(context.Background(), ttl)
			defer rcancel()
			// ErrLockNotHeld means the TTL ran out and maybe another
			// process holds the lock now; there is nothing to undo. Any
			// other error leaves the key to expire.
			_ = l.Release(rctx)
		})
	}
}

// renew extends l's TTL to ttl every third of ttl, each attempt bounded by
// that third, until ctx ends, until is reached, or the lock is found lost;
// then it closes done. The last renewal comes at most a third of ttl before
// until, so the key outlives until by two thirds of ttl at least, as long as
// Redis answers.
func renew(ctx context.Context, l *redislock.Lock, ttl time.Duration, until time.Time, done chan<- struct{}) {
	defer close(done)
	every := ttl / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if !now.Before(until) {
				return
			}
		}
		rctx, cancel := context.WithTimeout(ctx, every)
		err := l.Refresh(rctx, ttl, nil)
		cancel()
		if errors.Is(err, redislock.ErrNotObtained) {
			return // expired or taken over: nothing left to renew
		}
		// Any other error (Redis unreachable for a moment): try again at
		// the next tick, while the key may still live.
	}
}

// String names the store's token key; it never shows the token.
func (s *Store) String() string { return "redisstore.Store(" + s.tokenKey + ")" }

// GoString is used by %#v, which would otherwise print the client's fields.
func (s *Store) GoString() string { return s.String() }
