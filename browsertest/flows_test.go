package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

const (
	clientID     = "1004.BROWSERTEST"
	clientSecret = "cs-browsertest-5e4d3c2b1a"
)

var (
	loginPrompt = regexp.MustCompile(`(?m)^ +(http://\S+/oauth/v3/device)\n +code: (\S+)$`)
	appAddress  = regexp.MustCompile(`Open (http://\S+)/ in your browser`)
)

// startLogin runs "zohoauth login" against a fake Zoho on loopback and
// returns the command, the verification page and the user code it printed.
func startLogin(t *testing.T, tokenFile string) (*process, string, string) {
	t.Helper()
	zoho := zohotest.New(zohotest.Options{
		ClientID: clientID, ClientSecret: clientSecret,
		// Over loopback the command honours a short interval; against
		// Zoho's hosts it never polls faster than every 30 s.
		Login: zohotest.LoginOptions{DeviceInterval: 200 * time.Millisecond},
	})
	zoho.Start()
	t.Cleanup(zoho.Close)
	p := start(t, []string{"ZOHO_CLIENT_ID=" + clientID, "ZOHO_CLIENT_SECRET=" + clientSecret},
		binary(t, "zohoauth"), "login", "-no-browser", "-scopes", "ZohoCRM.modules.ALL,ZohoCRM.settings.READ",
		"-accounts-url", zoho.DC("us").AccountsURL, "-token-file", tokenFile)
	m := p.await(t, loginPrompt)
	return p, m[1], m[2]
}

// enterCode fills the verification page with the user code and returns the
// scopes it lists.
func enterCode(t *testing.T, ctx context.Context, page, code string) string {
	t.Helper()
	do(t, ctx, "verification page",
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("user_code")),
		chromedp.SendKeys(chromedp.ID("user_code"), code),
		chromedp.Click(chromedp.ID("next")),
		chromedp.WaitVisible(chromedp.ID("accept")),
	)
	return text(t, ctx, "scopes")
}

func TestLoginCommandInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	file := filepath.Join(t.TempDir(), "token.json")
	p, page, code := startLogin(t, file)

	scopes := enterCode(t, ctx, page, code)
	if !strings.Contains(scopes, "ZohoCRM.modules.ALL") || !strings.Contains(scopes, "ZohoCRM.settings.READ") {
		t.Errorf("the page lists the scopes %q", scopes)
	}
	do(t, ctx, "accept",
		chromedp.Click(chromedp.ID("accept")),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	if result := text(t, ctx, "result"); result != "Access granted" {
		t.Errorf("after Accept the page says %q", result)
	}
	if status := p.exit(t); status != 0 || !strings.Contains(p.stdout(), "Logged in. Saved the token to "+file) {
		t.Fatalf("login ended with %d", status)
	}
	tok, err := zohoauth.NewFileStore(file).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Scope != "ZohoCRM.modules.ALL ZohoCRM.settings.READ" || !strings.HasPrefix(tok.AccountsServer, "http://127.0.0.1:") {
		t.Errorf("stored %v", tok)
	}
	if out := p.stdout() + p.stderr(); strings.Contains(out, tok.RefreshToken) || strings.Contains(out, tok.AccessToken) || strings.Contains(out, clientSecret) {
		t.Error("the command printed a secret")
	}
}

// startApp runs the web consent example against its own fake Zoho and
// returns the command and the app's address.
func startApp(t *testing.T, tokenFile string) (*process, string) {
	t.Helper()
	p := start(t, nil, binary(t, "webconsent"), "-fake", "-addr", "127.0.0.1:0", "-token-file", tokenFile)
	return p, p.await(t, appAddress)[1]
}

// consentPage goes from the app's home page to Zoho's consent page and
// returns the scopes it lists.
func consentPage(t *testing.T, ctx context.Context, app string) string {
	t.Helper()
	do(t, ctx, "home and consent page",
		chromedp.Navigate(app+"/"),
		chromedp.WaitVisible(chromedp.ID("connect")),
		chromedp.Click(chromedp.ID("connect")),
		chromedp.WaitVisible(chromedp.ID("accept")),
	)
	return text(t, ctx, "scopes")
}

func TestWebConsentInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	file := filepath.Join(t.TempDir(), "token.json")
	_, app := startApp(t, file)
	if scopes := consentPage(t, ctx, app); !strings.Contains(scopes, "ZohoCRM.modules.ALL") {
		t.Errorf("the consent page lists %q", scopes)
	}
	do(t, ctx, "accept and the stored token",
		chromedp.Click(chromedp.ID("accept")),
		chromedp.WaitVisible(chromedp.ID("token")),
	)
	refresh, accounts := text(t, ctx, "refresh"), text(t, ctx, "accounts")
	url := get(t, ctx, "location", chromedp.Location())
	html := get(t, ctx, "the page", chromedp.OuterHTML("html"))
	if refresh != "stored" || !strings.HasPrefix(accounts, "http://127.0.0.1:") || url != app+"/token" {
		t.Errorf("token page: refresh %q, accounts %q, at %s", refresh, accounts, url)
	}
	tok, err := zohoauth.NewFileStore(file).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.AccountsServer != accounts {
		t.Errorf("stored %v", tok)
	}
	if strings.Contains(html, tok.AccessToken) || strings.Contains(html, tok.RefreshToken) {
		t.Error("the token page shows a token")
	}
}

func TestDenyInBrowser(t *testing.T) {
	t.Run("web consent", func(t *testing.T) {
		ctx := newBrowser(t)
		file := filepath.Join(t.TempDir(), "token.json")
		_, app := startApp(t, file)
		consentPage(t, ctx, app)
		do(t, ctx, "deny",
			chromedp.Click(chromedp.ID("deny")),
			chromedp.WaitVisible(chromedp.ID("error")),
		)
		if msg := text(t, ctx, "error"); !strings.Contains(msg, "You denied access") || !strings.Contains(msg, "access_denied") {
			t.Errorf("after Deny the app says %q", msg)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("a token file exists after Deny: %v", err)
		}
	})
	t.Run("login", func(t *testing.T) {
		ctx := newBrowser(t)
		file := filepath.Join(t.TempDir(), "token.json")
		p, page, code := startLogin(t, file)
		enterCode(t, ctx, page, code)
		do(t, ctx, "deny",
			chromedp.Click(chromedp.ID("deny")),
			chromedp.WaitVisible(chromedp.ID("result")),
		)
		if result := text(t, ctx, "result"); result != "Access denied" {
			t.Errorf("after Deny the page says %q", result)
		}
		if status := p.exit(t); status != 2 || !strings.Contains(p.stderr(), "the user denied access on the verification page") {
			t.Errorf("login ended with %d", status)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("a token file exists after Deny: %v", err)
		}
	})
}
