package zohoauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// Zoho Desk lives on desk.zoho.<dc>, not on the api_domain; the Transport
// sends the token there too, in the token's own data center. Desk wants the
// organization in an orgId header, and says INVALID_OAUTH for a dead token,
// which the Transport recovers from like CRM's INVALID_TOKEN.
func Example_desk() {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	cfg := fakeZohoConfig(srv)
	tok, _ := cfg.Exchange(context.Background(), srv.NewGrantCode("eu", "Desk.tickets.ALL"))
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
	defer src.Close()
	// zohoauth.NewClient(src) in real code; here the base transport is the fake.
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: srv.Transport()}}

	newTicket := func() *http.Request {
		// NewRequest with a strings.Reader sets GetBody, which the replay
		// after a 401 needs.
		req, _ := http.NewRequest("POST", "https://desk.zoho.eu/api/v1/tickets",
			strings.NewReader(`{"subject":"Printer on fire","departmentId":"1"}`))
		req.Header["orgId"] = []string{"10234695"} // Desk's spelling
		return req
	}
	resp, _ := client.Do(newTicket())
	resp.Body.Close()
	fmt.Println("created:", resp.StatusCode)

	srv.RevokeAccessToken(tok.AccessToken) // e.g. evicted by a 16th token
	resp, _ = client.Do(newTicket())
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("after revocation:", resp.StatusCode, strings.Contains(string(body), "Printer on fire"))
	fmt.Println("refreshes:", srv.Stats().TokenCalls["refresh_token"])
	// Output:
	// created: 200
	// after revocation: 200 true
	// refreshes: 1
}

// Zoho Books shares the api_domain with CRM and wants organization_id on
// every request. It answers 401 with code 57 both for a dead token and for a
// missing scope: the Transport refreshes once per token on it, and hands the
// answer back when the fresh token gets it too.
func Example_books() {
	srv := zohotest.New(zohotest.Options{})
	defer srv.Close()
	cfg := fakeZohoConfig(srv)
	// The grant covers contacts but not invoices.
	tok, _ := cfg.Exchange(context.Background(), srv.NewGrantCode("eu", "ZohoBooks.contacts.ALL"))
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
	defer src.Close()
	client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: srv.Transport()}}

	for range 3 {
		resp, _ := client.Get(tok.APIDomain + "/books/v3/invoices?organization_id=10234695")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println("refreshes:", srv.Stats().TokenCalls["refresh_token"])
	// Output:
	// 401 {"code":57,"message":"You are not authorized to perform this operation"}
	// 401 {"code":57,"message":"You are not authorized to perform this operation"}
	// 401 {"code":57,"message":"You are not authorized to perform this operation"}
	// refreshes: 1
}
