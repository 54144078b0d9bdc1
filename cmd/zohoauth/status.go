package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
// address, a data center name) for the terminal: a value with control
// characters, invalid UTF-8 or unusual spaces is printed quoted, so that it
// cannot move the cursor, rewrite the screen or pass for other text; a
// long one is cut.
func shown(s string) string {
	const max = 200
	plain := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r) && r != ' '
	})
	if len(s) > max {
		s = s[:max] + "..."
	}
	if plain {
		return s
	}
	return strconv.QuoteToASCII(s)
}
