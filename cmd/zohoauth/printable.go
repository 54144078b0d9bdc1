package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Everything the command prints that it did not write itself (values from
// the token file, Zoho's answers, the user's arguments, error messages that
// quote any of these) goes through escape, so that a hostile token file or
// response cannot steer the terminal, and through redact, so that a secret
// the command knows is never echoed.

// printable returns s with every character that could steer a terminal
// written as its Go escape: C0 and C1 control characters (ESC, BEL, CR,
// newline, ...), DEL, bidirectional overrides and isolates and the other
// invisible format characters, unusual spaces, and bytes that are not
// UTF-8. Everything else is kept as it is.
func printable(s string) string { return escape(s, false) }

// escape is printable; with layout, newlines and tabs are kept, for
// multi-line text such as an API response.
func escape(s string, layout bool) string {
	keep := func(r rune) bool {
		return r == ' ' || unicode.IsPrint(r) || layout && (r == '\n' || r == '\t')
	}
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !keep(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == utf8.RuneError || !keep(r):
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// zohoShaped matches what looks like a Zoho grant code or token
// ("1000.<hex>.<hex>").
var zohoShaped = regexp.MustCompile(`[0-9]{4}\.[0-9A-Fa-f]{16,}\.[0-9A-Fa-f]{16,}`)

// redact replaces in s every secret the command was given (the client
// secret, the grant code) and anything shaped like a Zoho token.
func (c *cli) redact(s string) string {
	for _, secret := range c.secrets {
		if len(secret) >= minSecret {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return zohoShaped.ReplaceAllString(s, "[redacted]")
}

// minSecret is the shortest value redact looks for: shorter ones would
// blank out ordinary words.
const minSecret = 8

// say prints one line on stdout, made printable and redacted.
func (c *cli) say(format string, args ...any) {
	fmt.Fprintln(c.stdout, printable(c.redact(fmt.Sprintf(format, args...))))
}

// isTerminal reports whether w is a terminal (or another character device,
// where escaping is harmless).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// terminalWriter escapes what it writes to a terminal, keeping newlines
// and tabs. A character split across writes is held until it is whole;
// Flush writes what is left.
type terminalWriter struct {
	w    io.Writer
	part []byte // the start of a character split across writes
}

func (t *terminalWriter) Write(p []byte) (int, error) {
	buf := append(t.part, p...)
	cut := len(buf)
	// Hold back an incomplete character at the end (at most 3 bytes).
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				cut = i
			}
			break
		}
	}
	t.part = append([]byte(nil), buf[cut:]...)
	if _, err := io.WriteString(t.w, escape(string(buf[:cut]), true)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a character left incomplete at the end, escaped.
func (t *terminalWriter) Flush() error {
	rest := t.part
	t.part = nil
	_, err := io.WriteString(t.w, escape(string(rest), true))
	return err
}
