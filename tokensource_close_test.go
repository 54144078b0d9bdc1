package zohoauth_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// slowSaveStore takes 100 ms to save, as a store over the network does, and
// honours ctx as the Store contract asks.
type slowSaveStore struct{ zohoauth.MemoryStore }

func (s *slowSaveStore) Save(ctx context.Context, tok *zohoauth.Token) error {
	select {
	case <-time.After(100 * time.Millisecond):
		return s.MemoryStore.Save(ctx, tok)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A token the endpoint already minted has used one of Zoho's 10 calls per
// 10 minutes. Close arriving while it is being saved must not throw it
// away: the store keeps the old token, and the next process to start mints
// again.
func TestCloseDuringSaveKeepsMintedToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		srv.SetFault(zohotest.Fault{Latency: time.Second})
		store := &slowSaveStore{}
		tok := issuedToken(srv, 2*time.Minute) // stale
		_ = store.MemoryStore.Save(bg(), tok)
		src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store), zohoauth.WithToken(tok))
		if _, err := src.Token(bg()); err != nil { // starts the background refresh
			t.Fatal(err)
		}
		time.Sleep(time.Second + 50*time.Millisecond) // minted; being saved
		src.Close()
		if n := len(tokenCalls(srv)); n != 1 {
			t.Fatalf("token calls = %d, want 1", n)
		}
		minted := newestToken(srv)
		// The next process starts from the store.
		next := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(store))
		defer next.Close()
		got, err := next.Token(bg())
		synctest.Wait()
		if err != nil || got.AccessToken != minted || minted == tok.AccessToken {
			t.Errorf("after Close: next process got %v, %v; want the token minted before Close", got, err)
		}
		if n := len(tokenCalls(srv)); n != 1 {
			t.Errorf("token calls = %d, want 1: the minted token was lost at Close and minted again", n)
		}
	})
}
