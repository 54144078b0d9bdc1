// Command zohoauth does the one manual step of Zoho OAuth, turning a grant
// code into a stored refresh token, and serves scripts and cron jobs
// afterwards: it prints valid access tokens, refreshes them, sends
// authorized API requests, shows and revokes the stored token. Its demo
// command runs a token's whole life against a fake Zoho in the process.
//
// Run "zohoauth -h" for the commands and exit statuses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-zoho/zohoauth"
)

// Exit statuses. They are part of the command's interface: scripts and
// cron jobs branch on them.
const (
	exitOK        = 0
	exitFailure   = 1 // usage error, bad input, anything else a retry will not fix
	exitReauth    = 2 // a person must create a new grant code and run exchange
	exitTransient = 3 // Zoho unreachable, a server error or throttling: try later
	exitHTTP      = 4 // api: Zoho answered with a status outside 2xx
)

const exitStatusHelp = `Exit status:
  0  success
  1  usage error, bad input, or any other failure the message explains
  2  re-authorization needed: no token is stored, the login was denied or
     expired, or Zoho refused the grant code, the refresh token or the
     client credentials; run "zohoauth login" (or "zohoauth exchange" with
     a new grant code)
  3  temporary failure: Zoho could not be reached, answered with a server
     error, or throttled token requests; try again later
  4  (api only) Zoho answered with an HTTP status outside 2xx
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(c *cli, args []string) int
}

var commands = []command{
	{"login", "log in with a browser and store the token (once per account)", runLogin},
	{"exchange", "turn a grant code into a stored token (once per account)", runExchange},
	{"refresh", "mint a new access token now and store it (for cron)", runRefresh},
	{"token", "print a valid access token, refreshing it if needed", runToken},
	{"status", "show the stored token: data center, api_domain, expiry, scopes", runStatus},
	{"api", "send an authorized request to the Zoho API, print the response", runAPI},
	{"revoke", "revoke the stored refresh token and delete the token file", runRevoke},
	{"demo", "run a token's whole life against a fake Zoho in this process", runDemoCommand},
}

// cli is what every command gets: where to write and the environment.
type cli struct {
	name   string // "zohoauth exchange"
	stdout io.Writer
	stderr io.Writer
	env    func(string) string
	help   func() // prints the command's -h text; set by flagSet
	// secrets are the values of -client-secret and -code and
	// $ZOHO_CLIENT_SECRET: redact blanks them out of everything printed.
	secrets []string
	// transport makes the command's HTTP requests, token calls included;
	// nil means http.DefaultTransport. Tests set it to a fake's.
	transport http.RoundTripper
}

// base is the transport the command's requests go through.
func (c *cli) base() http.RoundTripper {
	if c.transport != nil {
		return c.transport
	}
	return http.DefaultTransport
}

// run is the whole command: it parses args (without the program name),
// writes to stdout and stderr, reads the environment through env, and
// returns the exit status.
func run(args []string, stdout, stderr io.Writer, env func(string) string) int {
	return runWith(nil, args, stdout, stderr, env)
}

// runWith is run with the command's HTTP requests going through transport
// (nil: http.DefaultTransport).
func runWith(transport http.RoundTripper, args []string, stdout, stderr io.Writer, env func(string) string) int {
	c := &cli{name: "zohoauth", stdout: stdout, stderr: stderr, env: env, secrets: []string{env("ZOHO_CLIENT_SECRET")},
		transport: transport}
	if len(args) == 0 {
		topUsage(stderr)
		return exitFailure
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if name == "help" && len(args) > 1 {
			return run([]string{args[1], "-h"}, stdout, stderr, env)
		}
		topUsage(stdout)
		return exitOK
	}
	for _, cmd := range commands {
		if cmd.name == name {
			c.name = "zohoauth " + name
			return cmd.run(c, args[1:])
		}
	}
	return c.fail(exitFailure, fmt.Errorf("unknown command %s; run \"zohoauth -h\" for the list", quoteName(name)))
}

func topUsage(w io.Writer) {
	fmt.Fprint(w, `zohoauth: Zoho OAuth tokens for scripts and cron jobs.

Usage:
  zohoauth COMMAND [flags]

Commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, `
Run "zohoauth COMMAND -h" for a command's flags.

Start with "zohoauth login -scopes ZohoCRM.modules.ALL", or, where no
person is at hand, "zohoauth exchange -dc eu -code CODE" with a grant code
from a self client at api-console.zoho.com. The client id and secret come from
-client-id and -client-secret or from ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET
(prefer the environment: flags show up in process listings). The token file
is %s unless -token-file names another.

%s`, defaultPathForHelp(), exitStatusHelp)
}

func defaultPathForHelp() string {
	p, err := zohoauth.DefaultTokenPath()
	if err != nil {
		return "zohoauth/token.json in the user's configuration folder"
	}
	return printable(p)
}

// fail prints err as one line on stderr, made printable and redacted, and
// returns status.
func (c *cli) fail(status int, err error) int {
	msg := strings.TrimPrefix(err.Error(), "zohoauth: ")
	msg = strings.Join(strings.Fields(msg), " ") // one line, whatever the error held
	fmt.Fprintf(c.stderr, "%s: %s\n", c.name, printable(c.redact(msg)))
	return status
}

// failErr prints err and returns the exit status its kind calls for.
func (c *cli) failErr(err error) int {
	status := exitStatus(err)
	if status == exitTransient && !errors.Is(err, zohoauth.ErrThrottled) { // a throttle error says how long to wait
		err = fmt.Errorf("%w; try again later", err)
	}
	return c.fail(status, err)
}

// exitStatus maps an error to the exit status scripts branch on.
func exitStatus(err error) int {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, zohoauth.ErrReauthRequired), errors.Is(err, zohoauth.ErrNoToken):
		return exitReauth
	case errors.Is(err, zohoauth.ErrTransient), errors.Is(err, zohoauth.ErrThrottled),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &opErr), errors.As(err, &dnsErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return exitTransient // the network or Zoho: a later run may succeed
	}
	return exitFailure
}

// flagSet returns a flag set whose errors the caller reports itself, and
// whose -h text is the command's usage, synopsis and exit statuses.
func (c *cli) flagSet(synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package calls it on every error; help is printed for -h only
	c.help = func() {
		w := c.stdout
		fmt.Fprintf(w, "Usage: %s %s\n\n%s\n", c.name, synopsis, strings.TrimSpace(about))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(w, "\nFlags:\n")
			fs.SetOutput(w)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
		fmt.Fprintf(w, "\n%s", exitStatusHelp)
	}
	return fs
}

// parse parses args, allowing flags after positional arguments (as in
// "api POST /crm/v8/Leads -data '{...}'"), and returns the positional
// arguments. done is true when the command should end with status.
func (c *cli) parse(fs *flag.FlagSet, args []string, positional int) (rest []string, status int, done bool) {
	defer fs.Visit(func(f *flag.Flag) {
		if f.Name == "client-secret" || f.Name == "code" {
			c.secrets = append(c.secrets, f.Value.String())
		}
	})
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.help()
				return nil, exitOK, true
			}
			return nil, c.fail(exitFailure, fmt.Errorf("%s (run \"%s -h\" for help)", flagError(err, args), c.name)), true
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			rest = append(rest, args[1:]...)
			break
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
	if len(rest) > positional {
		// The argument is not quoted: it could be a misplaced secret.
		return nil, c.fail(exitFailure, fmt.Errorf("too many arguments: %d given, %d expected (run \"%s -h\" for help)",
			len(rest), positional, c.name)), true
	}
	return rest, exitOK, false
}

// flagError is the flag package's error without the values it quotes: a
// mistyped flag may carry a client secret or a grant code. The name of an
// unknown flag is kept only if it looks like a flag name.
func flagError(err error, args []string) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "bad flag syntax") {
		return "bad flag syntax"
	}
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		if !isName(name) {
			return "an unknown flag was given (its name is not shown: it does not look like one of this command's)"
		}
		return msg
	}
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		return "invalid value for " + m[1] + " (the value is not shown)"
	}
	for _, a := range args {
		if _, v, ok := strings.Cut(a, "="); ok && v != "" {
			msg = strings.ReplaceAll(msg, v, "...")
		}
	}
	return msg
}

// invalidValue matches the flag package's "invalid value" errors, which
// quote the value.
var invalidValue = regexp.MustCompile(`^invalid (?:boolean )?value .* for (?:flag )?(-[A-Za-z0-9_-]+): `)

// isName reports whether s looks like a command or flag name: a short run
// of letters, digits, '-' and '_' starting with a letter. Anything else, a
// grant code or a secret pasted in the wrong place, is not echoed.
func isName(s string) bool {
	if s == "" || len(s) > 20 || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// quoteName quotes a command name the user typed if it looks like one.
func quoteName(s string) string {
	if isName(s) {
		return strconv.Quote(s)
	}
	return "(not shown: it does not look like a command name)"
}
