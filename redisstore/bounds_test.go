package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/redisstore"
	"github.com/redis/go-redis/v9"
)

// countingConn counts the bytes read from Redis.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// countingClient is a client to addr that counts the bytes it reads.
func countingClient(t *testing.T, addr string) (*redis.Client, *atomic.Int64) {
	read := new(atomic.Int64)
	opts := clientOptions(addr)
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{conn, read}, nil
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c, read
}

// A stored value larger than MaxValueSize is refused without being sent:
// Load reads a few bytes of it, not megabytes.
func TestLoadSizeCap(t *testing.T) {
	ctx := context.Background()
	addr := sharedAddr(t)
	c := newClient(t, addr)
	p := uniquePrefix(t, c)
	key := p + "{acct}:token"

	counted, read := countingClient(t, addr)
	s := redisstore.New(counted, "acct", redisstore.WithPrefix(p))
	if _, err := s.Load(ctx); !errors.Is(err, zohoauth.ErrNoToken) { // connects and loads the script
		t.Fatalf("Load of a missing key: %v", err)
	}

	// A token padded with spaces to exactly the cap loads; one byte more
	// does not.
	good, err := json.Marshal(sample(1))
	if err != nil {
		t.Fatal(err)
	}
	atCap := string(good) + strings.Repeat(" ", redisstore.MaxValueSize-len(good))
	c.Set(ctx, key, atCap, 0)
	if tok, err := s.Load(ctx); err != nil || tok.AccessToken != sample(1).AccessToken {
		t.Fatalf("Load of a %d-byte value: %v", len(atCap), err)
	}
	for _, size := range []int{redisstore.MaxValueSize + 1, 8 << 20} {
		c.Set(ctx, key, string(good)+strings.Repeat(" ", size-len(good)), 0)
		before := read.Load()
		tok, err := s.Load(ctx)
		got := read.Load() - before
		if err == nil || errors.Is(err, zohoauth.ErrNoToken) {
			t.Fatalf("Load of a %d-byte value = %v, %v; want an error saying it is too large", size, tok, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "bytes long") || !strings.Contains(msg, "a Source will not write over it") || !errors.Is(err, zohoauth.ErrStoreDamaged) {
			t.Errorf("Load of a %d-byte value: error %q does not say what is wrong and what to do", size, msg)
		}
		if got > 1024 {
			t.Errorf("Load of a %d-byte value read %d bytes from Redis; want the refusal alone", size, got)
		}
	}
	// Save replaces the oversized value.
	if err := s.Save(ctx, sample(2)); err != nil {
		t.Fatal(err)
	}
	if tok, err := s.Load(ctx); err != nil || tok.AccessToken != sample(2).AccessToken {
		t.Fatalf("Load after a Save over an oversized value: %v", err)
	}
}

// A stored token expiring further ahead than MaxExpiryAhead (hostile, or
// from a host whose clock is badly ahead) is damaged: Load reports it, and
// Save overwrites it instead of keeping it as "newer" forever.
func TestFarFutureExpiryIsDamaged(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	p := uniquePrefix(t, c)
	s := redisstore.New(c, "acct", redisstore.WithPrefix(p))
	key := p + "{acct}:token"
	plus14 := time.FixedZone("", 14*3600)
	for name, exp := range map[string]time.Time{
		"ten days ahead":             time.Now().Add(10 * 24 * time.Hour),
		"just past the bound":        time.Now().Add(redisstore.MaxExpiryAhead + time.Minute),
		"year 2100":                  time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		"year 9999, 14 hours east":   time.Date(9999, 12, 30, 23, 59, 59, 999999999, plus14),
		"three hours ahead, as +14h": time.Now().Add(3 * time.Hour).In(plus14),
	} {
		t.Run(name, func(t *testing.T) {
			raw, err := json.Marshal(expiring(9, exp))
			if err != nil {
				t.Fatal(err)
			}
			c.Set(ctx, key, raw, 0)
			tok, err := s.Load(ctx)
			if err == nil || errors.Is(err, zohoauth.ErrNoToken) {
				t.Fatalf("Load of a token expiring %v = %v, %v; want an error", exp, tok, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "ahead") || !strings.Contains(msg, "a Source will not write over it") || !errors.Is(err, zohoauth.ErrStoreDamaged) {
				t.Errorf("error %q does not say what is wrong and what to do", msg)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("error quotes the stored value: %q", msg)
			}
			if err := s.Save(ctx, sample(1)); err != nil {
				t.Fatal(err)
			}
			if tok, err := s.Load(ctx); err != nil || tok.AccessToken != sample(1).AccessToken {
				t.Fatalf("after a Save over it: %v, %v; want the saved token", tok, err)
			}
		})
	}

	// Just inside the bound, a stored token is a token: it loads, and a
	// token expiring earlier does not replace it.
	inside := expiring(9, time.Now().Add(redisstore.MaxExpiryAhead-time.Minute))
	raw, _ := json.Marshal(inside)
	c.Set(ctx, key, raw, 0)
	if tok, err := s.Load(ctx); err != nil || tok.AccessToken != inside.AccessToken {
		t.Fatalf("Load of a token expiring within the bound: %v", err)
	}
	if err := s.Save(ctx, sample(1)); err != nil {
		t.Fatal(err)
	}
	if tok, _ := s.Load(ctx); tok == nil || tok.AccessToken != inside.AccessToken {
		t.Fatal("an older token replaced one expiring within the bound")
	}
}

// Save refuses a token whose own expiry lies further ahead than
// MaxExpiryAhead, leaving the stored one: other processes would take it as
// damaged.
func TestSaveRefusesFarFutureExpiry(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	s := redisstore.New(c, "acct", redisstore.WithPrefix(uniquePrefix(t, c)))
	seed(t, s, sample(1))
	err := s.Save(ctx, expiring(2, time.Now().Add(redisstore.MaxExpiryAhead+time.Minute)))
	if err == nil {
		t.Fatal("Save of a token expiring past the bound succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "clock") || !strings.Contains(msg, "unchanged") || strings.Contains(msg, "secret") {
		t.Errorf("error %q does not say what is wrong and what to do, or quotes a token", msg)
	}
	if tok, err := s.Load(ctx); err != nil || tok.AccessToken != sample(1).AccessToken {
		t.Fatalf("the stored token changed: %v, %v", tok, err)
	}
}

// A Source whose store holds a far-future token does not adopt it. (What
// it does instead, refresh and save over the damaged value or report it,
// is the Source's policy for stores it cannot read.)
func TestSourceDoesNotAdoptFarFutureToken(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sharedAddr(t))
	p := uniquePrefix(t, c)
	s := redisstore.New(c, "acct", redisstore.WithPrefix(p))
	f := newFakeZoho(t, time.Hour)
	mine := f.issue()
	mine.Expiry = time.Now().Add(-time.Minute)
	hostile := *mine
	hostile.AccessToken = "1000.hostile.secret"
	hostile.Expiry = time.Now().Add(30 * 24 * time.Hour)
	raw, _ := json.Marshal(&hostile)
	c.Set(ctx, p+"{acct}:token", raw, 0)

	cfg := &zohoauth.Config{ClientID: fakeClientID, ClientSecret: fakeClientSecret, AccountsURL: f.url}
	src := zohoauth.NewSource(cfg, zohoauth.WithStore(s), zohoauth.WithToken(mine))
	defer src.Close()
	tok, err := src.Token(ctx)
	if err == nil && tok.AccessToken == hostile.AccessToken {
		t.Fatal("the Source adopted the far-future token")
	}
	t.Logf("Token: %v", err)
}
