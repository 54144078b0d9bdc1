package zohoauth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// exampleFolder makes a folder for an example's token file; real code keeps
// it somewhere lasting, such as zohoauth.DefaultTokenPath.
func exampleFolder() (string, func()) {
	dir, err := os.MkdirTemp("", "zohoauth-example-")
	if err != nil {
		log.Fatal(err)
	}
	return dir, func() { os.RemoveAll(dir) }
}

// exampleTokenFile does the first run, as Example_firstRun shows, and
// returns the token file.
func exampleTokenFile(srv *zohotest.Server, dir string) string {
	tok, err := fakeZohoConfig(srv).Exchange(context.Background(), srv.NewGrantCode("eu"))
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(dir, "token.json")
	if err := zohoauth.NewFileStore(path).Save(context.Background(), tok); err != nil {
		log.Fatal(err)
	}
	return path
}

// The first run: trade a grant code from Zoho's API console for tokens and
// save them in a token file, as `zohoauth exchange` does.
func Example_firstRun() {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	dir, cleanup := exampleFolder()
	defer cleanup()
	ctx := context.Background()

	cfg := fakeZohoConfig(srv)
	tok, err := cfg.Exchange(ctx, srv.NewGrantCode("eu"))
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
	saved, err := store.Load(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token file mode:", fi.Mode())
	fmt.Println("saved with its refresh token:", saved.RefreshToken == tok.RefreshToken)
	fmt.Println("accounts server:", saved.AccountsServer)
	// Output:
	// token file mode: -rw-------
	// saved with its refresh token: true
	// accounts server: https://accounts.zoho.eu
}

// A service: each start loads the saved token instead of minting one, and
// the Source keeps it fresh, taking turns through the file's lock with every
// other process that uses the same file.
func Example_service() {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	dir, cleanup := exampleFolder()
	defer cleanup()
	path := exampleTokenFile(srv, dir)

	src := zohoauth.NewSource(fakeZohoConfig(srv), zohoauth.WithStore(zohoauth.NewFileStore(path)))
	defer src.Close()
	// zohoauth.NewClient(src) in real code; here the base transport is the fake.
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: srv.Transport()}}

	resp, err := client.Get("https://www.zohoapis.eu/crm/v8/Leads?fields=Last_Name")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status) // Zoho's answer for an empty list
	fmt.Println("refreshes:", srv.Stats().TokenCalls["refresh_token"])
	// Output:
	// 204 No Content
	// refreshes: 0
}

// A cron job: load the saved token, force a refresh and save the new token.
// Source.Refresh holds the file's lock throughout, so a service refreshing
// at the same moment waits, then adopts the cron job's token.
func Example_cronJob() {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	dir, cleanup := exampleFolder()
	defer cleanup()
	path := exampleTokenFile(srv, dir)
	ctx := context.Background()

	store := zohoauth.NewFileStore(path)
	before, err := store.Load(ctx)
	if err != nil {
		log.Fatal(err)
	}
	src := zohoauth.NewSource(fakeZohoConfig(srv), zohoauth.WithStore(store))
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
	fmt.Println("refreshes:", srv.Stats().TokenCalls["refresh_token"])
	// Output:
	// new access token: true
	// saved: true
	// same refresh token: true
	// refreshes: 1
}
