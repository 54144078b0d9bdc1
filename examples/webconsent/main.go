// Command webconsent is a small web app that connects to a Zoho account
// through Zoho's consent page: "Connect Zoho", Zoho's page, back to the app,
// and the token in a token file.
//
// Against a fake Zoho on this machine (no account needed):
//
//	go run ./examples/webconsent -fake
//
// Against Zoho, with a "Server-based Application" client whose redirect URI
// is http://localhost:8080/callback:
//
//	ZOHO_CLIENT_ID=... ZOHO_CLIENT_SECRET=... ZOHO_DC=eu \
//	ZOHO_SCOPES=ZohoCRM.modules.ALL go run ./examples/webconsent
//
// It prints the address to open. Without credentials in the environment it
// runs against the fake.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "webconsent:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("webconsent", flag.ContinueOnError)
	addr := fs.String("addr", "localhost:8080", "the address to listen on; its host and port must match the redirect URI")
	fake := fs.Bool("fake", false, "use a fake Zoho on this machine (also the default without ZOHO_CLIENT_ID)")
	tokenFile := fs.String("token-file", "", "where to store the token (default: zohoauth's token file; with -fake a file in a temporary folder)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	// The address people open, and so the redirect URI: the host as given
	// (localhost stays localhost, as registered at Zoho), the port as bound.
	host, _, _ := net.SplitHostPort(*addr)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if host == "" {
		host = "localhost"
	}
	base := "http://" + net.JoinHostPort(host, port)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	cfg := &zohoauth.Config{
		ClientID:     os.Getenv("ZOHO_CLIENT_ID"),
		ClientSecret: os.Getenv("ZOHO_CLIENT_SECRET"),
		RedirectURL:  os.Getenv("ZOHO_REDIRECT_URL"),
		Scopes:       strings.Split(envOr("ZOHO_SCOPES", "ZohoCRM.modules.ALL"), ","),
	}
	if cfg.RedirectURL == "" {
		cfg.RedirectURL = base + "/callback"
	}
	path := *tokenFile
	if *fake || cfg.ClientID == "" {
		srv := zohotest.New(zohotest.Options{Login: zohotest.LoginOptions{RedirectURIs: []string{cfg.RedirectURL}}})
		srv.Start()
		defer srv.Close()
		cfg.ClientID, cfg.ClientSecret = "test-client-id", "test-client-secret"
		cfg.AccountsURL = srv.DC("us").AccountsURL
		if path == "" {
			dir, err := os.MkdirTemp("", "webconsent")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			path = filepath.Join(dir, "token.json")
		}
		fmt.Printf("Using a fake Zoho at %s (set ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET for the real one).\n", cfg.AccountsURL)
	} else {
		dc, ok := zohoauth.LookupDataCenter(envOr("ZOHO_DC", "us"))
		if !ok {
			return fmt.Errorf("unknown data center in ZOHO_DC; use one of us, eu, in, au, jp, cn, ca, sa, uk")
		}
		cfg.AccountsURL = dc.AccountsURL
		if cfg.ClientSecret == "" {
			return errors.New("ZOHO_CLIENT_SECRET is not set")
		}
		if path == "" {
			if path, err = zohoauth.DefaultTokenPath(); err != nil {
				return err
			}
		}
	}

	a := &app{cfg: cfg, store: zohoauth.NewFileStore(path), log: log}
	hs := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdown)
	}()
	fmt.Printf("Open %s/ in your browser. The token goes to %s.\n", base, path)
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}
