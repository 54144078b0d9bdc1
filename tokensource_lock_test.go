package zohoauth_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// slowBrokenLockStore is a Locker whose lock backend is down and takes a
// while to say so, as a Redis lock does when the server does not answer.
type slowBrokenLockStore struct{ zohoauth.MemoryStore }

func (s *slowBrokenLockStore) Lock(ctx context.Context, lease time.Duration) (func(), error) {
	select {
	case <-time.After(5 * time.Second):
		return nil, errors.New("lock backend unreachable")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// A background refresh of a stale token that cannot get the store's lock
// gives up to keep serving that token. If the API rejects the token while
// the refresh waits for the lock, giving up leaves callers with nothing but
// the rejected token; the refresh must refresh without the lock, as one
// started after the rejection does.
func TestRejectDuringStaleRefreshWithoutLock(t *testing.T) {
	for _, rejectFirst := range []bool{true, false} {
		name := "rejected while the stale refresh waits for the lock"
		if rejectFirst {
			name = "rejected before any refresh"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newZoho(t, zohotest.Options{})
				store := &slowBrokenLockStore{}
				tok := issuedToken(srv, 2*time.Minute) // stale
				_ = store.MemoryStore.Save(bg(), tok)
				src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store), zohoauth.WithToken(tok))
				defer src.Close()
				if rejectFirst {
					src.Reject(tok)
				} else {
					if got, err := src.Token(bg()); err != nil || got.AccessToken != tok.AccessToken {
						t.Fatalf("Token: %v, %v; want the stale token", got, err)
					}
					time.Sleep(time.Second) // the background refresh waits for the lock
					src.Reject(tok)
				}
				got, err := src.Token(bg())
				if err != nil || got.AccessToken == tok.AccessToken {
					t.Fatalf("after Reject: %v, %v; want a new token", got, err)
				}
			})
		})
	}
}

// The same when the stale token expires while the refresh waits for the
// lock: callers waiting for that refresh get an error although a refresh
// without the lock is allowed for an expired token.
func TestExpiryDuringStaleRefreshWithoutLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		store := &slowBrokenLockStore{}
		tok := issuedToken(srv, 4*time.Second) // stale; not sent after 3 s
		_ = store.MemoryStore.Save(bg(), tok)
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store), zohoauth.WithToken(tok))
		defer src.Close()
		if got, err := src.Token(bg()); err != nil || got.AccessToken != tok.AccessToken {
			t.Fatalf("Token: %v, %v; want the stale token", got, err)
		}
		time.Sleep(4 * time.Second) // expired; the refresh still waits for the lock
		got, err := src.Token(bg())
		if err != nil || got.AccessToken == tok.AccessToken {
			t.Fatalf("after expiry: %v, %v; want a new token", got, err)
		}
	})
}
