package redisstore

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/redis/go-redis/v9"
)

// The Store's zohoauth.Ledger: the token calls made for the account's
// refresh token and the Sources' shared state, kept beside the token so that
// every process counts against one budget.

// MaxCallLimit bounds the limit TakeCall accepts, and so the calls it keeps
// and returns. Zoho's is 10.
const MaxCallLimit = 1000

// callsMargin is how long the calls key outlives its newest call's window:
// room for hosts whose clocks lag the writer's.
const callsMargin = time.Minute

// StateTTL is how long the ledger's state is kept after it was last saved.
// A Source saves it at every refresh, and what it records (a wait of
// minutes, a streak of tokens refused within a minute of their minting)
// matters for minutes; a state a day old holds nothing that still applies.
const StateTTL = 24 * time.Hour

// TakeCall implements zohoauth.Ledger: it records a token call to be sent
// at at, if fewer than limit recorded calls are younger than window at now,
// in one Lua script over the calls key, a sorted set of call times. It
// returns ok and the calls younger than window, oldest first, the new one
// included when ok.
//
// Times are the callers' clocks, as the tokens' expiries are: the Source
// waits for the oldest call to leave the window by its own clock, so the
// window must be counted by the same. Hosts sharing a store must keep their
// clocks in step (NTP). The calls are kept to the microsecond: at is
// rounded up and now down, so a call never counts for less than window.
// Calls recorded more than window ahead of now are dropped, so that a host
// whose clock is far ahead cannot block the budget until its clock's time
// comes. The key holds at most limit calls and expires a minute after its
// newest call leaves the window.
func (s *Store) TakeCall(ctx context.Context, now, at time.Time, limit int, window time.Duration) (bool, []time.Time, error) {
	if err := ctx.Err(); err != nil {
		return false, nil, fmt.Errorf("redisstore: call budget: %w", err)
	}
	if limit < 1 || limit > MaxCallLimit || window < time.Microsecond {
		return false, nil, fmt.Errorf("redisstore: call budget: a limit of %d calls per %v is out of range "+
			"(1 to %d calls, a window of at least 1µs)", limit, window, MaxCallLimit)
	}
	nowUS, atUS := now.UnixMicro(), ceilMicro(at)
	if !inRange(nowUS) || !inRange(atUS) {
		return false, nil, fmt.Errorf("redisstore: call budget: the times %s and %s are out of range (1970 to 2255)",
			now.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	res, err := takeScript.Run(ctx, s.client, []string{s.callsKey},
		nowUS, atUS, limit, window.Microseconds(),
		base64.RawURLEncoding.EncodeToString(nonce[:]), callsMargin.Milliseconds()).Slice()
	if err != nil {
		if strings.HasPrefix(err.Error(), "WRONGTYPE") {
			return false, nil, fmt.Errorf("redisstore: call budget %s: %w; delete the key "+
				"(until then each Source counts its token calls on its own)", s.callsKey, err)
		}
		return false, nil, fmt.Errorf("redisstore: call budget %s: %w", s.callsKey, err)
	}
	return parseCalls(res, limit)
}

// ceilMicro is t in microseconds since 1970, rounded up.
func ceilMicro(t time.Time) int64 {
	us := t.UnixMicro() // rounded down, before 1970 too
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

// maxMicro is the largest time the calls key holds exactly: Redis scores
// and Lua numbers are doubles, exact for integers up to 2^53 (year 2255).
const maxMicro = 1 << 53

func inRange(us int64) bool { return us >= 0 && us <= maxMicro }

// parseCalls reads take.lua's answer: ok, then at most limit scores.
func parseCalls(res []any, limit int) (bool, []time.Time, error) {
	bad := func(why string) (bool, []time.Time, error) {
		return false, nil, errors.New("redisstore: call budget: unexpected answer from Redis: " + why)
	}
	if len(res) == 0 || len(res)-1 > limit {
		return bad(strconv.Itoa(len(res)) + " values")
	}
	ok, isInt := res[0].(int64)
	if !isInt {
		return bad(fmt.Sprintf("a %T", res[0]))
	}
	calls := make([]time.Time, 0, len(res)-1)
	for _, v := range res[1:] {
		str, _ := v.(string)
		f, err := strconv.ParseFloat(str, 64)
		if err != nil || !inRange(int64(f)) || float64(int64(f)) != f {
			return bad("a score that is not a time")
		}
		calls = append(calls, time.UnixMicro(int64(f)))
	}
	return ok == 1, calls, nil
}

//go:embed take.lua
var takeLua string

var takeScript = redis.NewScript(takeLua)

// LoadState implements zohoauth.Ledger. It returns nil and no error when no
// state is stored, or when the stored value is larger than
// zohoauth.MaxLedgerState: such a value is not sent from Redis.
func (s *Store) LoadState(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: load state: %w", err)
	}
	v, err := loadScript.Run(ctx, s.client, []string{s.stateKey}, zohoauth.MaxLedgerState).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: load state %s: %w", s.stateKey, err)
	}
	if str, ok := v.(string); ok {
		return []byte(str), nil
	}
	return nil, nil // its length: too large to be a state
}

// SaveState implements zohoauth.Ledger: one SET of state, which expires
// StateTTL later. It refuses a state larger than zohoauth.MaxLedgerState.
func (s *Store) SaveState(ctx context.Context, state []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: save state: %w", err)
	}
	if len(state) > zohoauth.MaxLedgerState {
		return fmt.Errorf("redisstore: save state: %d bytes, more than the %d a state may take", len(state), zohoauth.MaxLedgerState)
	}
	if err := s.client.Set(ctx, s.stateKey, state, StateTTL).Err(); err != nil {
		return fmt.Errorf("redisstore: save state %s: %w", s.stateKey, err)
	}
	return nil
}
