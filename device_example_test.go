package zohoauth_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// Log in a person from a command line: show the code and the page, wait for
// the approval, keep the token. The fake here runs on loopback with a short
// poll interval; against Zoho the wait between polls is at least 30 s.
func ExampleConfig_DeviceAuth() {
	srv := zohotest.New(zohotest.Options{Login: zohotest.LoginOptions{DeviceInterval: 10 * time.Millisecond}})
	srv.Start()
	defer srv.Close()

	cfg := &zohoauth.Config{
		ClientID:     "test-client-id",
		ClientSecret: "test-client-secret",
		AccountsURL:  srv.DC("us").AccountsURL, // zohoauth.EU.AccountsURL and so on for Zoho
		Scopes:       []string{"ZohoCRM.modules.ALL"},
	}
	ctx := context.Background()
	da, err := cfg.DeviceAuth(ctx, zohoauth.PromptConsent())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("show the user a code:", da.UserCode != "")
	// The user enters the code on da.VerificationURL and accepts; the fake
	// can do it without a browser.
	if err := srv.ApproveDevice(da.UserCode, ""); err != nil {
		fmt.Println(err)
		return
	}
	tok, err := cfg.DeviceAccessToken(ctx, da)
	switch {
	case errors.Is(err, zohoauth.ErrDeviceAccessDenied):
		fmt.Println("the user said no")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println("has refresh token:", tok.RefreshToken != "")
		fmt.Println("scope:", tok.Scope)
	}
	// Output:
	// show the user a code: true
	// has refresh token: true
	// scope: ZohoCRM.modules.ALL
}
