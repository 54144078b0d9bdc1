package zohoauth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// everyFormat renders v with each fmt verb a user might reach for.
func everyFormat(v any) string {
	return fmt.Sprintf("%v|%+v|%#v|%s|%q|%x|%X", v, v, v, v, v, v, v)
}

func TestNoSecretInFormattedValues(t *testing.T) {
	srv := newZoho(t, zohotest.Options{})
	tok := &zohoauth.Token{AccessToken: "1000.access-fmt.secret", RefreshToken: testRefresh, APIDomain: "https://www.zohoapis.com", Expiry: time.Now()}
	cfg := fakeCredentials(srv.Transport())
	src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok), zohoauth.WithStore(&zohoauth.MemoryStore{}))
	defer src.Close()
	store := &zohoauth.MemoryStore{}
	_ = store.Save(bg(), tok)
	type wrapper struct {
		T   zohoauth.Token
		P   *zohoauth.Token
		Cfg zohoauth.Config
	}
	values := map[string]any{
		"Token":          *tok,
		"*Token":         tok,
		"Config":         *cfg,
		"*Config":        cfg,
		"*Source":        src,
		"*MemoryStore":   store,
		"Transport":      &zohoauth.Transport{Source: src},
		"struct holding": wrapper{T: *tok, P: tok, Cfg: *cfg},
		"slice":          []*zohoauth.Token{tok},
		"*Error":         &zohoauth.Error{Op: "refresh", Code: "invalid_code"},
	}
	for name, v := range values {
		assertNoSecrets(t, name, everyFormat(v))
		assertNoSecrets(t, name, strings.ReplaceAll(everyFormat(v), "-fmt", "")) // the token's own value
		if strings.Contains(everyFormat(v), "1000.access-fmt.secret") {
			t.Errorf("%s prints the access token", name)
		}
	}
	var logs logCapture
	logs.logger().Info("token", "tok", tok, "value", *tok, "cfg", cfg, "src", src)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("token", "tok", tok, "cfg", *cfg)
	if strings.Contains(logs.String(), "access-fmt") || strings.Contains(logs.String(), cfg.ClientSecret) || strings.Contains(logs.String(), testRefresh) {
		t.Errorf("slog output leaks a secret: %s", logs.String())
	}
}

func TestNoSecretInLogsOrErrorsAcrossFlows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newZoho(t, zohotest.Options{})
		var logs logCapture
		var errs []string
		cfg := fakeCredentials(srv.Transport())
		code := srv.NewGrantCode("us")
		tok, err := cfg.Exchange(bg(), code)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cfg.Exchange(bg(), code+"x")
		errs = append(errs, fmt.Sprint(err))
		store := &zohoauth.MemoryStore{}
		src := zohoauth.NewSource(cfg, zohoauth.WithToken(tok), zohoauth.WithStore(store), zohoauth.WithLogger(logs.logger()))
		client := &http.Client{Transport: &zohoauth.Transport{Source: src, Base: srv.Transport()}}
		srv.ExpireAll() // 401 recovery
		resp, err := client.Get(leadsURL + "?fields=Last_Name")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || srv.Stats().Unauthorized != 1 {
			t.Fatalf("API answered %d after %d 401s, want 204 after the recovery from 1", resp.StatusCode, srv.Stats().Unauthorized)
		}
		if _, err := src.Refresh(bg()); err != nil {
			t.Fatal(err)
		}
		// failures: Zoho errors, 5xx, garbage
		for _, reply := range []string{`{"error":"invalid_code"}`, `{"error":"Access Denied"}`, "<html>" + tok.RefreshToken + "</html>",
			`{"error":"invalid_code","error_description":"refresh token ` + tok.RefreshToken + ` unknown, secret ` + cfg.ClientSecret + `"}`} {
			srv.SetFault(zohotest.Fault{Body: reply})
			_, err := cfg.Refresh(bg(), tok)
			errs = append(errs, fmt.Sprint(err), fmt.Sprintf("%+v %#v", err, err))
		}
		srv.SetFault(zohotest.Fault{Status: 503, Body: tok.RefreshToken})
		_, err = src.Refresh(bg())
		errs = append(errs, fmt.Sprint(err))
		src.Close()
		if err := cfg.Revoke(bg(), "1000.bogus.token"); err != nil {
			errs = append(errs, err.Error())
		}
		secrets := append(fakeSecrets(srv), tok.RefreshToken, code)
		for _, e := range errs {
			assertNoSecrets(t, "error", e, secrets...)
		}
		assertNoSecrets(t, "log", logs.String(), secrets...)
		if !strings.Contains(logs.String(), "refresh succeeded") || !strings.Contains(logs.String(), "refresh failed") {
			t.Errorf("expected refresh events in the log: %s", logs.String())
		}
		var ze *zohoauth.Error
		if !errors.As(err, &ze) && err != nil {
			t.Errorf("revoke error is %T", err)
		}
	})
}

// proxyBase is a base transport that holds a credential of its own.
type proxyBase struct {
	Password string
	http.RoundTripper
}

// Every exported type that holds a secret, or may (a Transport's Base), is
// safe with every fmt verb, slog's text and JSON handlers and json.Marshal,
// alone and inside other values. Token's JSON form is the one exception:
// stores persist it.
func TestNoSecretInAnyOutputForm(t *testing.T) {
	const access, proxyPassword = "1000.access-forms.secret", "proxy-password-123"
	tok := &zohoauth.Token{AccessToken: access, RefreshToken: testRefresh, APIDomain: "https://www.zohoapis.com", Expiry: time.Now()}
	plain := &zohoauth.Config{ClientID: "client-1", ClientSecret: testClientSecret, Scopes: []string{"ZohoCRM.modules.ALL"}}
	withClient := *plain
	withClient.HTTPClient = &http.Client{Timeout: time.Second} // encodable, unlike a function-typed transport
	store := &zohoauth.MemoryStore{}
	_ = store.Save(bg(), tok)
	src := zohoauth.NewSource(plain, zohoauth.WithToken(tok), zohoauth.WithStore(store))
	defer src.Close()
	tr := zohoauth.Transport{Source: src, Base: proxyBase{Password: proxyPassword}}
	values := map[string]any{
		"Token": *tok, "*Token": tok, "Config": *plain, "*Config": plain, "Config with HTTPClient": withClient,
		"*Source": src, "Transport": tr, "*Transport": &tr, "*MemoryStore": store,
		"*FileStore": zohoauth.NewFileStore("token.json"),
		"*Error":     &zohoauth.Error{Op: "refresh", Code: "invalid_code", Description: "x"},
		"struct": struct {
			C zohoauth.Config
			S *zohoauth.Source
			T zohoauth.Transport
		}{*plain, src, tr},
		"map": map[string]any{"cfg": plain, "tr": &tr},
	}
	secrets := []string{testClientSecret, testRefresh, access, proxyPassword}
	check := func(name, form, out string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s, %s: leaks %q...: %s", name, form, s[:6], out)
			}
		}
	}
	for name, v := range values {
		check(name, "fmt", everyFormat(v))
		var text, js strings.Builder
		slog.New(slog.NewTextHandler(&text, nil)).Info("m", "v", v)
		slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "v", v)
		check(name, "slog text", text.String())
		check(name, "slog JSON", js.String())
		if strings.Contains(js.String(), "!ERROR") {
			t.Errorf("%s: slog JSON could not encode it, which hides what a working encoding would print: %s", name, js.String())
		}
		b, err := json.Marshal(v)
		if strings.HasPrefix(name, "Token") || strings.HasPrefix(name, "*Token") {
			if err != nil || !strings.Contains(string(b), access) {
				t.Errorf("%s: JSON is the stored form and must keep the token: %s, %v", name, b, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: json.Marshal: %v", name, err)
		}
		check(name, "json.Marshal", string(b))
	}
}
