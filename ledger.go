package zohoauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// What the Sources sharing a Ledger agree on, beyond the call budget: when
// the next token call may be made, and which fresh token the API refused.
// A Source without a shared Ledger keeps the same in its own, so one Source
// and a fleet follow the same rules.

// sharedState is the Ledger's state, as JSON.
type sharedState struct {
	// NotBefore: no token call before this (a throttle, a backoff after
	// failures or after fresh tokens were refused), for Grant's refresh
	// token; Why is the class of the failure that set it.
	NotBefore time.Time `json:"not_before,omitzero"`
	Why       Class     `json:"why,omitempty"`
	Grant     string    `json:"grant,omitempty"`
	// Minted is the fingerprint of the last access token minted, at
	// MintedAt; Streak counts fresh tokens the API refused in a row, the
	// last of them Refused.
	Minted   string    `json:"minted,omitempty"`
	MintedAt time.Time `json:"minted_at,omitzero"`
	Streak   int       `json:"streak,omitempty"`
	Refused  string    `json:"refused,omitempty"`
}

// fingerprint names a token in the state without keeping it: 64 bits of its
// SHA-256.
func fingerprint(secret string) string {
	if secret == "" {
		return ""
	}
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:8])
}

// loadState reads the ledger's state. A state that cannot be read counts as
// none: the call budget, checked on every call, is what keeps Zoho's limit.
func (s *Source) loadState(ctx context.Context) sharedState {
	var st sharedState
	b, err := s.ledger.LoadState(ctx)
	if err == nil && len(b) > 0 {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		s.log.Warn("zohoauth: the store's refresh state cannot be read; going on without it", "error", err)
		return sharedState{}
	}
	return st
}

func (s *Source) saveState(ctx context.Context, st sharedState) {
	b, err := json.Marshal(st)
	if err == nil {
		err = s.ledger.SaveState(context.WithoutCancel(ctx), b)
	}
	if err != nil {
		s.log.Warn("zohoauth: the store's refresh state cannot be saved", "error", err)
	}
}

var errHeldBack = errors.New("a Source sharing this token's store is holding token requests back")

// admit decides, with the shared state, whether job may ask Zoho for a token
// now for base's grant, and records what job says about the last token: a
// refused fresh token lengthens the streak (two or more in a row hold the
// next call back, 10 s doubling), one that lived its life ends it. st is
// updated; the caller saves it.
func (st *sharedState) admit(job refreshJob, base *Token, now time.Time) error {
	if grant := fingerprint(base.refreshToken()); grant != st.Grant {
		// A new grant (zohoauth exchange, say) starts with a clean slate.
		*st = sharedState{Grant: grant}
	}
	switch job.reason {
	case reasonRejected:
		// Each refused token counts once, however many refreshes (of this
		// process or others) it causes.
		if fp := fingerprint(job.rejected); fp == st.Minted && fp != st.Refused {
			st.Refused = fp
			if now.Sub(st.MintedAt) >= rejectGrace {
				st.Streak = 0 // it lived a while: evicted, not refused at once
			} else if st.Streak++; st.Streak >= 2 {
				st.hold(now.Add(delay(rejectBackoff, st.Streak-1, backoffMax)), ClassThrottled)
			}
		}
	case reasonStale, reasonExpired:
		st.Streak = 0
	}
	if !now.Before(st.NotBefore) || (job.reason == reasonForced && st.Why != ClassThrottled) {
		return nil
	}
	return &Error{Op: "refresh", Class: st.Why, Err: errHeldBack, RetryAfter: st.NotBefore.Sub(now)}
}

// hold makes token calls wait until t at least.
func (st *sharedState) hold(t time.Time, why Class) {
	if t.After(st.NotBefore) {
		st.NotBefore, st.Why = t, why
	}
}

// minted records a token just minted: no wait, and a new last token.
func (st *sharedState) minted(tok *Token, now time.Time) {
	st.NotBefore, st.Why = time.Time{}, ClassUnknown
	st.Minted, st.MintedAt = fingerprint(tok.AccessToken), now
}

// refreshToken is t's refresh token, "" for a nil token.
func (t *Token) refreshToken() string {
	if t == nil {
		return ""
	}
	return t.RefreshToken
}
