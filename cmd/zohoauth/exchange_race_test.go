package main

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// gatedTransport holds every request until release is closed, and reports
// the first on arrived.
type gatedTransport struct {
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gatedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	g.once.Do(func() { close(g.arrived) })
	select {
	case <-g.release:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// "zohoauth exchange" run while a Source sharing the token file is
// refreshing with the old refresh token: the new grant survives, and the
// Source goes on with it.
func TestExchangeDuringRefreshKeepsNewGrant(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	old := f.exchange()
	f.setExpiry(time.Now().Add(-time.Minute))
	gate := &gatedTransport{arrived: make(chan struct{}), release: make(chan struct{})}
	cfg := &zohoauth.Config{ClientID: testClientID, ClientSecret: testClientSecret, AccountsURL: f.eu.AccountsURL,
		HTTPClient: &http.Client{Transport: gate}}
	src := zohoauth.NewSource(cfg, zohoauth.WithStore(zohoauth.NewFileStore(f.file)))
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The Source takes the file's lock, loads the expired token and asks
	// Zoho for a new access token with the old refresh token; its request
	// waits at the gate.
	refreshed := make(chan error, 1)
	served := make(chan *zohoauth.Token, 1)
	go func() { tok, err := src.Token(ctx); served <- tok; refreshed <- err }()
	<-gate.arrived

	// Meanwhile a person exchanges a new grant code.
	type result struct {
		status int
		stderr string
	}
	exchanged := make(chan result, 1)
	code := f.code()
	go func() {
		status, _, stderr := f.zoho("exchange", "-accounts-url", f.eu.AccountsURL, "-code", code)
		exchanged <- result{status, stderr}
	}()
	// Without the lock the exchange saves at once; with it, it waits for
	// the Source. Give it a second to show which.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && f.stored().RefreshToken == old.RefreshToken {
		time.Sleep(10 * time.Millisecond)
	}
	close(gate.release)
	if err := <-refreshed; err != nil {
		t.Fatalf("the Source's refresh: %v", err)
	}
	r := <-exchanged
	wantStatus(t, "exchange", r.status, exitOK, "", r.stderr, "")

	grant := f.stored().RefreshToken
	if grant == old.RefreshToken {
		t.Fatal("the token file holds the old refresh token: the Source wrote it over the new grant")
	}

	// The Source goes on with the new grant. Its own token (minted with
	// the old refresh token) refused by the API, it adopts the exchanged
	// token from the file instead of minting another...
	mine := <-served
	if mine.RefreshToken != old.RefreshToken {
		t.Fatal("setup: the Source's refresh did not use the old grant")
	}
	before := f.calls("refresh_token")
	src.Reject(mine)
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatalf("Token after a rejection: %v", err)
	}
	if tok.RefreshToken != grant || f.calls("refresh_token") != before {
		t.Errorf("after the exchange the Source served a token of the old grant or minted (%d calls) instead of adopting the new one",
			f.calls("refresh_token")-before)
	}
	// ...and, the old grant revoked, its next refresh uses the new one.
	f.srv.RevokeRefreshToken(old.RefreshToken)
	if tok, err = src.Refresh(ctx); err != nil {
		t.Fatalf("Refresh with the old grant revoked: %v", err)
	}
	if tok.RefreshToken != grant || f.stored().RefreshToken != grant {
		t.Error("the Source refreshed with, or saved, the old refresh token")
	}
}
