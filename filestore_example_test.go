package zohoauth_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/go-zoho/zohoauth"
)

// exampleZoho starts a fake Zoho on 127.0.0.1 standing in for an accounts
// server and its API, and a folder for the token file. It returns the fake's
// address and a function that removes both.
func exampleZoho() (accounts, dir string, cleanup func()) {
	_, srv := serveLoopZoho(time.Hour)
	dir, err := os.MkdirTemp("", "zohoauth-example-")
	if err != nil {
		log.Fatal(err)
	}
	return srv.URL, dir, func() {
		srv.Close()
		os.RemoveAll(dir)
	}
}

// exampleFirstRun does what Example_firstRun shows, for the other examples.
func exampleFirstRun(accounts, path string) {
	cfg := &zohoauth.Config{ClientID: "1000.EXAMPLECLIENT", ClientSecret: "example-client-secret", AccountsURL: accounts}
	tok, err := cfg.Exchange(context.Background(), "1000.example-grant-code")
	if err != nil {
		log.Fatal(err)
	}
	if err := zohoauth.NewFileStore(path).Save(context.Background(), tok); err != nil {
		log.Fatal(err)
	}
}

// The first run: trade a grant code from Zoho's API console for tokens and
// save them in a token file, as `zohoauth exchange` does. In real use
// AccountsURL is the account's data center, such as zohoauth.EU.AccountsURL.
func Example_firstRun() {
	accounts, dir, cleanup := exampleZoho()
	defer cleanup()
	ctx := context.Background()

	cfg := &zohoauth.Config{
		ClientID:     "1000.EXAMPLECLIENT",
		ClientSecret: "example-client-secret",
		AccountsURL:  accounts,
	}
	tok, err := cfg.Exchange(ctx, "1000.example-grant-code")
	if err != nil {
		log.Fatal(err)
	}
	store := zohoauth.NewFileStore(filepath.Join(dir, "zoho", "token.json"))
	if err := store.Save(ctx, tok); err != nil {
		log.Fatal(err)
	}
	fi, err := os.Stat(store.Path())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token file mode:", fi.Mode())
	fmt.Println("has a refresh token:", tok.RefreshToken != "")
	// Output:
	// token file mode: -rw-------
	// has a refresh token: true
}

// A service: every start loads the saved token instead of minting one, and
// the Source keeps it fresh, coordinating refreshes with every other process
// that uses the same file.
func Example_service() {
	accounts, dir, cleanup := exampleZoho()
	defer cleanup()
	path := filepath.Join(dir, "token.json")
	exampleFirstRun(accounts, path)
	ctx := context.Background()

	cfg := &zohoauth.Config{ClientID: "1000.EXAMPLECLIENT", ClientSecret: "example-client-secret", AccountsURL: accounts}
	src := zohoauth.NewSource(cfg, zohoauth.WithStore(zohoauth.NewFileStore(path)))
	defer src.Close()
	client := zohoauth.NewClient(src)

	tok, err := src.Token(ctx) // the stored token: no call to Zoho
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Get(tok.APIDomain + "/crm/v8/org")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

// A cron job: load the saved token, force a refresh and save the new token.
// Source.Refresh holds the file's lock throughout, so a service refreshing
// at the same moment waits and then adopts the cron job's token.
func Example_cronJob() {
	accounts, dir, cleanup := exampleZoho()
	defer cleanup()
	path := filepath.Join(dir, "token.json")
	exampleFirstRun(accounts, path)
	ctx := context.Background()

	store := zohoauth.NewFileStore(path)
	before, err := store.Load(ctx)
	if err != nil {
		log.Fatal(err)
	}
	cfg := &zohoauth.Config{ClientID: "1000.EXAMPLECLIENT", ClientSecret: "example-client-secret", AccountsURL: accounts}
	src := zohoauth.NewSource(cfg, zohoauth.WithStore(store))
	defer src.Close()
	tok, err := src.Refresh(ctx) // mints a new access token and saves it
	if err != nil {
		log.Fatal(err)
	}
	saved, err := store.Load(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new access token:", tok.AccessToken != before.AccessToken)
	fmt.Println("saved:", saved.AccessToken == tok.AccessToken)
	fmt.Println("same refresh token:", saved.RefreshToken == before.RefreshToken)
	// Output:
	// new access token: true
	// saved: true
	// same refresh token: true
}
