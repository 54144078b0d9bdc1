package crm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/examples/generated/crm"
	"github.com/go-zoho/zohoauth/zohotest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bodyRecorder sits between zohoauth.Transport and the fake Zoho and keeps
// the body of every POST that reaches the wire.
type bodyRecorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	bodies []string
}

func (b *bodyRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		b.bodies = append(b.bodies, string(body))
		b.mu.Unlock()
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return b.next.RoundTrip(r)
}

func (b *bodyRecorder) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bodies...)
}

// setup wires the generated client to a fake Zoho through zohoauth, as an
// application would wire it to Zoho: a Source holding the account's token,
// a Transport putting it on each request, the token's api_domain as the
// generated client's server.
func setup(t *testing.T) (*zohotest.Server, *zohoauth.Source, *crm.ClientWithResponses, *bodyRecorder) {
	t.Helper()
	s := zohotest.New(zohotest.Options{})
	t.Cleanup(s.Close)
	access, refresh := s.IssueToken("eu")
	cfg := &zohoauth.Config{
		ClientID:     "test-client-id",
		ClientSecret: "test-client-secret",
		AccountsURL:  zohoauth.EU.AccountsURL,
		HTTPClient:   &http.Client{Transport: s.Transport()},
	}
	tok := &zohoauth.Token{AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.EU.APIDomain,
		Expiry: time.Now().Add(time.Hour)}
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
	t.Cleanup(func() { src.Close() })
	rec := &bodyRecorder{next: s.Transport()}
	hc := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: rec}}
	client, err := crm.NewClientWithResponses(tok.APIDomain, crm.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	return s, src, client, rec
}

func TestGeneratedClientListAndCreate(t *testing.T) {
	s, _, client, _ := setup(t)
	ctx := context.Background()

	created, err := client.CreateRecordsWithResponse(ctx, "Leads", crm.RecordInput{
		Data: []crm.Record{{"Last_Name": "Kowalski", "Company": "Acme"}, {"Last_Name": "Novak", "Company": "Initech"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.StatusCode() != http.StatusCreated || created.JSON201 == nil || len(created.JSON201.Data) != 2 {
		t.Fatalf("create: %d %s", created.StatusCode(), created.Body)
	}
	for i, r := range created.JSON201.Data {
		if r.Code != "SUCCESS" || r.Details == nil || (*r.Details)["id"] == nil {
			t.Errorf("result %d: %+v", i, r)
		}
	}

	perPage := 200
	page, err := client.ListRecordsWithResponse(ctx, "Leads", &crm.ListRecordsParams{Fields: "Last_Name,Company", PerPage: &perPage})
	if err != nil {
		t.Fatal(err)
	}
	if page.StatusCode() != http.StatusOK || page.JSON200 == nil || len(page.JSON200.Data) != 2 {
		t.Fatalf("list: %d %s", page.StatusCode(), page.Body)
	}
	if got := page.JSON200.Data[1]["Last_Name"]; got != "Novak" {
		t.Errorf("second record's Last_Name = %v", got)
	}
	if st := s.Stats(); st.APICalls != 2 || st.Unauthorized != 0 || st.TokenCalls["refresh_token"] != 0 {
		t.Errorf("fake saw %d API calls, %d 401s, %d refreshes; want 2, 0, 0", st.APICalls, st.Unauthorized, st.TokenCalls["refresh_token"])
	}
}

// Zoho revokes the access token behind the Source's back (as when a 16th
// token evicts the oldest). The generated client's create call gets a 401
// INVALID_TOKEN; zohoauth refreshes once and replays the same body; the
// caller sees only the 201.
func TestGeneratedClientCreateRecoversFrom401(t *testing.T) {
	s, src, client, rec := setup(t)
	ctx := context.Background()
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.RevokeAccessToken(tok.AccessToken)

	input := crm.RecordInput{Data: []crm.Record{{"Last_Name": "Kowalski", "Email": "k@example.com"}}, Trigger: &[]string{"workflow"}}
	created, err := client.CreateRecordsWithResponse(ctx, "Leads", input)
	if err != nil {
		t.Fatal(err)
	}
	if created.StatusCode() != http.StatusCreated || created.JSON201 == nil || created.JSON201.Data[0].Code != "SUCCESS" {
		t.Fatalf("create: %d %s", created.StatusCode(), created.Body)
	}

	want, _ := json.Marshal(input)
	bodies := rec.seen()
	if len(bodies) != 2 || bodies[0] != string(want) || bodies[1] != string(want) {
		t.Errorf("the fake saw bodies %q; want %s twice", bodies, want)
	}
	st := s.Stats()
	if st.APICalls != 2 || st.Unauthorized != 1 || st.TokenCalls["refresh_token"] != 1 {
		t.Errorf("fake saw %d API calls, %d 401s, %d refreshes; want 2, 1, 1", st.APICalls, st.Unauthorized, st.TokenCalls["refresh_token"])
	}
	if len(st.AuthHeaders) == 2 && st.AuthHeaders[0] == st.AuthHeaders[1] {
		t.Errorf("the replay carried the revoked token")
	}
	// The record was stored once: the 401 attempt created nothing.
	page, err := client.ListRecordsWithResponse(ctx, "Leads", &crm.ListRecordsParams{Fields: "Last_Name"})
	if err != nil || page.JSON200 == nil || len(page.JSON200.Data) != 1 {
		t.Fatalf("list after create: %v %s", err, page.Body)
	}
}

// An OAUTH_SCOPE_MISMATCH 401 is not a token problem: no refresh, no
// replay, and the generated client decodes Zoho's error.
func TestGeneratedClientScopeMismatch(t *testing.T) {
	s := zohotest.New(zohotest.Options{})
	defer s.Close()
	access, refresh := s.IssueToken("us", "ZohoCRM.modules.contacts.READ")
	src := zohoauth.NewSource(&zohoauth.Config{ClientID: "test-client-id", ClientSecret: "test-client-secret",
		HTTPClient: &http.Client{Transport: s.Transport()}},
		zohoauth.WithToken(&zohoauth.Token{AccessToken: access, RefreshToken: refresh, APIDomain: zohoauth.US.APIDomain, Expiry: time.Now().Add(time.Hour)}))
	defer src.Close()
	client, err := crm.NewClientWithResponses(zohoauth.US.APIDomain, crm.WithHTTPClient(&http.Client{Transport: &zohoauth.Transport{Source: src, Base: s.Transport()}}))
	if err != nil {
		t.Fatal(err)
	}
	created, err := client.CreateRecordsWithResponse(context.Background(), "Leads", crm.RecordInput{Data: []crm.Record{{"Last_Name": "X"}}})
	if err != nil {
		t.Fatal(err)
	}
	if created.StatusCode() != http.StatusUnauthorized || created.JSON401 == nil || created.JSON401.Code != "OAUTH_SCOPE_MISMATCH" {
		t.Fatalf("got %d %s", created.StatusCode(), created.Body)
	}
	if st := s.Stats(); st.APICalls != 1 || st.TokenCalls["refresh_token"] != 0 {
		t.Errorf("fake saw %d API calls and %d refreshes; want 1 and 0", st.APICalls, st.TokenCalls["refresh_token"])
	}
}

// Wiring a generated client to Zoho: the Source keeps the token, the
// Transport adds it, the token's api_domain is the server.
func Example() {
	fake := zohotest.New(zohotest.Options{}) // a fake Zoho, for this example only
	defer fake.Close()
	code := fake.NewGrantCode("eu")

	cfg := &zohoauth.Config{
		ClientID:     "test-client-id",
		ClientSecret: "test-client-secret",
		AccountsURL:  zohoauth.EU.AccountsURL,
		HTTPClient:   &http.Client{Transport: fake.Transport()}, // leave nil in production
	}
	ctx := context.Background()
	tok, err := cfg.Exchange(ctx, code)
	if err != nil {
		fmt.Println(err)
		return
	}
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok))
	defer src.Close()

	hc := &http.Client{Transport: &zohoauth.Transport{Source: src,
		Base: fake.Transport()}} // leave Base nil in production
	client, err := crm.NewClientWithResponses(tok.APIDomain, crm.WithHTTPClient(hc))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := client.CreateRecordsWithResponse(ctx, "Contacts",
		crm.RecordInput{Data: []crm.Record{{"Last_Name": "Kowalski"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.APIDomain, resp.StatusCode(), resp.JSON201.Data[0].Code)
	// Output: https://www.zohoapis.eu 201 SUCCESS
}
