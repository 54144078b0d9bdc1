package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/go-zoho/zohoauth"
)

// describeLogin prints what tells one login from another, without a
// secret: the accounts server the token refreshes at, and the login id, a
// digest of the refresh token. The id changes with every login and cannot
// be turned back into the token; two token files with the same id hold the
// same login.
func describeLogin(w io.Writer, tok *zohoauth.Token) {
	row := func(k, v string) { fmt.Fprintf(w, "%-14s %s\n", k+":", v) }
	row("accounts", orNone(shown(tok.AccountsServer)))
	if id := loginID(tok); id != "" {
		row("login id", id)
	}
}

// loginID is the first 12 hex digits of the SHA-256 of the refresh token,
// or "" without one. 48 bits tell logins apart and reveal nothing usable:
// the refresh token is 256 random bits.
func loginID(tok *zohoauth.Token) string {
	if tok.RefreshToken == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(tok.RefreshToken))
	return hex.EncodeToString(sum[:6])
}

// shown prepares a value that came from the network (a user code, an
// address) for the terminal: made printable (see printable), and cut when
// it is long.
func shown(s string) string {
	const max = 200
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "..."
	}
	return printable(s)
}
