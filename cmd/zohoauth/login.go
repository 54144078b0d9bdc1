package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-zoho/zohoauth"
)

// saveTimeout bounds the save at the end of a login, lock wait included.
const saveTimeout = time.Minute

func runLogin(c *cli, args []string) int {
	fs := c.flagSet("-scopes SCOPE[,SCOPE...] [-dc DC | -accounts-url URL] [flags]", `
Login gets a token the way "gh auth login" does: it shows a code and the
address of Zoho's verification page, opens that page in your browser when
there is one, and waits while you enter the code and accept the scopes,
on this machine or any other. Then it saves the token in the token file
(mode 0600), replacing any token stored there, under the file's lock.

The client must be a "Non-browser Application" in Zoho's API console, in
the data center where it was created (-dc). Accounts of other data centers
work too: Zoho tells where the account lives and the token is fetched
there. Each login asks Zoho for a new refresh token (prompt=consent); Zoho
keeps 20 per user and client and drops the oldest beyond that.

Zoho allows one poll every 30 seconds, so the token arrives up to 30 s
after you accept. Ctrl-C stops waiting and leaves the token file as it
was. The environment variable BROWSER, if set, names the browser to use.`)
	var o options
	scopes := fs.String("scopes", "", "the scopes to ask for, separated by commas, for example ZohoCRM.modules.ALL,ZohoCRM.settings.READ (required)")
	noBrowser := fs.Bool("no-browser", false, "do not open a browser; open the address yourself, on any device")
	o.addServer(fs, "default us; the data center where the client was created")
	o.addClient(fs)
	o.addTokenFile(fs)
	if _, status, done := c.parse(fs, args, 0); done {
		return status
	}
	list, err := scopeList(*scopes)
	if err != nil {
		return c.fail(exitFailure, err)
	}
	store, err := o.store()
	if err != nil {
		return c.fail(exitFailure, err)
	}
	cfg, err := o.config(c, nil)
	if err != nil {
		return c.fail(exitFailure, err)
	}
	cfg.Scopes = list

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, commandTimeout)
	da, err := cfg.DeviceAuth(startCtx, zohoauth.PromptConsent())
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return c.fail(exitFailure, errors.New("interrupted; nothing was saved"))
		}
		var ze *zohoauth.Error
		if errors.As(err, &ze) && (ze.Code == "invalid_client" || ze.Code == "unauthorized_client") {
			err = fmt.Errorf("%w; login needs a \"Non-browser Application\" client of the data center %s (choose another with -dc)", err, dataCenterName(cfg.AccountsURL))
		}
		return c.failErr(err)
	}

	fmt.Fprintf(c.stdout, "To log in to Zoho, open this page and enter the code:\n\n    %s\n    code: %s\n\n",
		shown(da.VerificationURL), shown(da.UserCode))
	fmt.Fprintf(c.stdout, "The code expires at %s.\n", when(da.Expiry))
	if !*noBrowser {
		if err := openBrowser(ctx, da.VerificationURL, c.env); err != nil {
			fmt.Fprintf(c.stdout, "Open the page yourself (%v).\n", err)
		} else {
			fmt.Fprintln(c.stdout, "Opened the page in your browser.")
		}
	}

	waiting := startWaiting(c.stderr, isTerminal(c.stderr), da.Expiry)
	tok, err := cfg.DeviceAccessToken(ctx, da)
	waiting.stop()
	switch {
	case err != nil && ctx.Err() != nil:
		return c.fail(exitFailure, fmt.Errorf("interrupted; nothing was saved and %s is as it was", store.Path()))
	case errors.Is(err, zohoauth.ErrDeviceAccessDenied):
		return c.failErr(fmt.Errorf("%w; run \"zohoauth login\" again to retry", err))
	case errors.Is(err, zohoauth.ErrDeviceCodeExpired):
		return c.failErr(fmt.Errorf("%w; run \"zohoauth login\" again and enter the new code within a few minutes", err))
	case err != nil:
		return c.failErr(err)
	case tok.RefreshToken == "":
		return c.fail(exitFailure, errors.New("zoho sent no refresh token, so the login could not be kept; nothing was saved"))
	}

	// The token is minted: save it even if Ctrl-C comes now, so the
	// refresh token Zoho just spent on this login is not lost. The save
	// itself is atomic.
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	replaced, err := saveLocked(saveCtx, store, tok)
	if err != nil {
		return c.fail(exitFailure, fmt.Errorf("%w; run \"zohoauth login\" again once the file can be written", err))
	}
	note := ""
	if replaced {
		note = " (it replaces the token stored there before; that refresh token stays valid at Zoho until revoked)"
	}
	fmt.Fprintf(c.stdout, "Logged in. Saved the token to %s%s.\n", store.Path(), note)
	describe(c.stdout, tok, time.Now())
	describeLogin(c.stdout, tok)
	return exitOK
}

// saveLocked saves tok under the store's lock, as a Source does, so that a
// process refreshing the old token at the same moment never interleaves
// with the save. It reports whether a token was stored before.
func saveLocked(ctx context.Context, store *zohoauth.FileStore, tok *zohoauth.Token) (replaced bool, err error) {
	unlock, err := store.Lock(ctx, saveTimeout)
	if err != nil {
		return false, err
	}
	defer unlock()
	_, prevErr := store.Load(ctx)
	if err := store.Save(ctx, tok); err != nil {
		return false, err
	}
	return prevErr == nil, nil
}

// scopeList splits the -scopes value. Scopes are names such as
// ZohoCRM.modules.ALL or ZohoCRM.modules.leads.READ: letters, digits, dots
// and underscores.
func scopeList(s string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		for _, r := range f {
			if !(r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return nil, errors.New("-scopes takes scope names separated by commas, such as ZohoCRM.modules.ALL,ZohoCRM.settings.READ")
			}
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("missing -scopes: name the scopes to ask for, for example -scopes ZohoCRM.modules.ALL")
	}
	return out, nil
}
