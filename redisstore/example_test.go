package redisstore_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every instance of a service shares one token through Redis. The client's
// short timeouts keep a Redis outage from stalling requests: the source goes
// on serving the token it holds.
func Example() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:         []string{"127.0.0.1:6379"},
		DialTimeout:   500 * time.Millisecond,
		DialerRetries: 1,
		ReadTimeout:   500 * time.Millisecond,
		WriteTimeout:  500 * time.Millisecond,
		MaxRetries:    1,
	})
	defer rdb.Close()

	src := zohoauth.NewSource(&zohoauth.Config{
		ClientID:     os.Getenv("ZOHO_CLIENT_ID"),
		ClientSecret: os.Getenv("ZOHO_CLIENT_SECRET"),
		AccountsURL:  zohoauth.EU.AccountsURL,
	}, zohoauth.WithStore(redisstore.New(rdb, "crm-prod")))
	defer src.Close()

	resp, err := zohoauth.NewClient(src).Get("https://www.zohoapis.eu/crm/v8/org")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, len(body))
}

// Once, after the grant exchange, put the token in the store; every process
// picks it up from there.
func ExampleStore_Save() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	ctx := context.Background()

	cfg := &zohoauth.Config{
		ClientID:     os.Getenv("ZOHO_CLIENT_ID"),
		ClientSecret: os.Getenv("ZOHO_CLIENT_SECRET"),
		AccountsURL:  zohoauth.EU.AccountsURL,
	}
	tok, err := cfg.Exchange(ctx, os.Getenv("ZOHO_GRANT_CODE"))
	if err != nil {
		fmt.Println(err)
		return
	}
	store := redisstore.New(rdb, "crm-prod", redisstore.WithPrefix("myapp:zoho:"))
	if err := store.Save(ctx, tok); err != nil {
		fmt.Println(err)
	}
}
