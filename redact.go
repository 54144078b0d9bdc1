package zohoauth

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Everything that keeps secrets out of output. Each type that holds a
// secret, or may hold one (a Transport's Base, a Source's Config), prints a
// description without it for every fmt verb (Format; fmt calls it instead
// of String and GoString, which give the same text to direct callers), for
// log/slog (LogValue) and, except Token, for encoding/json (MarshalJSON),
// which slog's JSON handler uses. Token's JSON form holds its secrets on
// purpose: it is what stores persist.

func redact(secret string) string {
	if secret == "" {
		return `""`
	}
	return "REDACTED"
}

// formatAs writes s for any verb, quoted for %q.
func formatAs(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		s = fmt.Sprintf("%q", s)
	}
	_, _ = io.WriteString(f, s)
}

// String describes the token without its secrets.
func (t Token) String() string {
	return fmt.Sprintf("zohoauth.Token{AccessToken:%s RefreshToken:%s TokenType:%q APIDomain:%q Scope:%q Expiry:%s AccountsServer:%q}",
		redact(t.AccessToken), redact(t.RefreshToken), t.TokenType, t.APIDomain, t.Scope,
		t.Expiry.Format(time.RFC3339), t.AccountsServer)
}

// GoString returns the String form.
func (t Token) GoString() string { return t.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x, ...) print the
// String form.
func (t Token) Format(f fmt.State, verb rune) { formatAs(f, verb, t.String()) }

// LogValue makes log/slog print the token without its secrets.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_token", redact(t.AccessToken)),
		slog.String("refresh_token", redact(t.RefreshToken)),
		slog.String("api_domain", t.APIDomain),
		slog.String("scope", t.Scope),
		slog.Time("expiry", t.Expiry),
		slog.String("accounts_server", t.AccountsServer),
	)
}

// String describes the client without its secret.
func (c Config) String() string {
	return fmt.Sprintf("zohoauth.Config{ClientID:%q ClientSecret:%s AccountsURL:%q RedirectURL:%q Scopes:%q}",
		c.ClientID, redact(c.ClientSecret), c.AccountsURL, c.RedirectURL, c.Scopes)
}

// GoString returns the String form.
func (c Config) GoString() string { return c.String() }

// Format makes every fmt verb print the String form.
func (c Config) Format(f fmt.State, verb rune) { formatAs(f, verb, c.String()) }

// LogValue makes log/slog print the client without its secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", redact(c.ClientSecret)),
		slog.String("accounts_url", c.AccountsURL),
		slog.String("redirect_url", c.RedirectURL),
		slog.Any("scopes", c.Scopes),
	)
}

// MarshalJSON encodes the client without its secret (and without its
// HTTPClient), so that logging a Config as JSON cannot leak it.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ClientID, ClientSecret, AccountsURL, RedirectURL string
		Scopes                                           []string
	}{c.ClientID, redact(c.ClientSecret), c.AccountsURL, c.RedirectURL, c.Scopes})
}

// String describes the source without any secret.
func (s *Source) String() string {
	state := "no token"
	if snap := s.cur.Load(); snap != nil {
		state = "token expires " + snap.tok.Expiry.Format(time.RFC3339)
		if snap.rejected {
			state += ", rejected"
		}
	}
	return fmt.Sprintf("zohoauth.Source{accounts:%q client:%q %s}", s.cfg.AccountsURL, s.cfg.ClientID, state)
}

// GoString returns the String form.
func (s *Source) GoString() string { return s.String() }

// Format makes every fmt verb print the String form.
func (s *Source) Format(f fmt.State, verb rune) { formatAs(f, verb, s.String()) }

// LogValue makes log/slog print the String form.
func (s *Source) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the String form.
func (s *Source) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// String describes the transport by the types of its Source and Base, not
// their contents: a base transport may hold credentials of its own (a
// proxy's, say).
func (t Transport) String() string {
	return fmt.Sprintf("zohoauth.Transport{Source:%T Base:%T Scheme:%q AllowedHosts:%q Products:%d}",
		t.Source, t.Base, t.Scheme, t.AllowedHosts, len(t.Products))
}

// GoString returns the String form.
func (t Transport) GoString() string { return t.String() }

// Format makes every fmt verb print the String form.
func (t Transport) Format(f fmt.State, verb rune) { formatAs(f, verb, t.String()) }

// LogValue makes log/slog print the String form.
func (t Transport) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalJSON encodes the String form.
func (t Transport) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// String describes the store without its token.
func (m *MemoryStore) String() string { return "zohoauth.MemoryStore" }

// GoString returns the String form.
func (m *MemoryStore) GoString() string { return m.String() }

// LogValue makes log/slog print the String form.
func (m *MemoryStore) LogValue() slog.Value { return slog.StringValue(m.String()) }
