package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-zoho/zohoauth"
)

// stateCookie holds the consent's random state between /connect and
// /callback.
const stateCookie = "zohoauth_state"

// consentTimeout is how long a person has between "Connect Zoho" and
// coming back from Zoho's page.
const consentTimeout = 10 * time.Minute

// app is the web consent flow: a page with "Connect Zoho", the redirect to
// Zoho's consent page, the callback that exchanges the code and stores the
// token, and a page showing what was stored (never a token).
type app struct {
	cfg   *zohoauth.Config
	store *zohoauth.FileStore
	log   *slog.Logger
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /connect", a.connect)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("GET /token", a.token)
	return mux
}

// secure reports whether the app is served over https, so that its cookie
// is marked Secure.
func (a *app) secure() bool { return strings.HasPrefix(a.cfg.RedirectURL, "https://") }

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	_, err := a.store.Load(r.Context())
	render(w, http.StatusOK, view{Title: "Connect Zoho", Stored: err == nil})
}

// connect starts the consent: a fresh random state, kept in a cookie that
// only this site can read, and a redirect to Zoho's consent page.
func (a *app) connect(w http.ResponseWriter, r *http.Request) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		render(w, http.StatusInternalServerError, view{Title: "Error", Error: "no randomness for the state"})
		return
	}
	state := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: state, Path: "/callback",
		MaxAge: int(consentTimeout / time.Second), HttpOnly: true, Secure: a.secure(), SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, a.cfg.AuthCodeURL(state, zohoauth.PromptConsent()), http.StatusSeeOther)
}

// callback is where Zoho sends the browser back. It checks the state
// against the cookie, exchanges the code at the account's data center and
// stores the token under the file's lock.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(stateCookie)
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Path: "/callback", MaxAge: -1, HttpOnly: true, Secure: a.secure(), SameSite: http.SameSiteLaxMode})
	if err != nil || c.Value == "" {
		render(w, http.StatusBadRequest, view{Title: "Start again", Error: "This answer from Zoho does not belong to a consent started here, or it took more than 10 minutes. Nothing was stored."})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	tok, err := a.cfg.ExchangeRedirect(ctx, r, c.Value)
	var ze *zohoauth.Error
	switch {
	case errors.Is(err, zohoauth.ErrStateMismatch):
		render(w, http.StatusBadRequest, view{Title: "Start again", Error: "This answer from Zoho does not match the consent started here. Nothing was stored."})
		return
	case errors.As(err, &ze) && ze.Code == "access_denied":
		render(w, http.StatusForbidden, view{Title: "Not connected", Error: "You denied access on Zoho's page (access_denied). Nothing was stored."})
		return
	case err != nil:
		a.log.Error("consent failed", "err", err) // zohoauth's errors hold no secret
		render(w, http.StatusBadGateway, view{Title: "Not connected", Error: "Zoho did not give a token: " + err.Error()})
		return
	}
	if err := a.save(ctx, tok); err != nil {
		a.log.Error("saving the token failed", "err", err)
		render(w, http.StatusInternalServerError, view{Title: "Not stored", Error: "The token could not be saved: " + err.Error()})
		return
	}
	http.Redirect(w, r, "/token", http.StatusSeeOther)
}

func (a *app) save(ctx context.Context, tok *zohoauth.Token) error {
	unlock, err := a.store.Lock(ctx, time.Minute)
	if err != nil {
		return err
	}
	defer unlock()
	return a.store.Save(ctx, tok)
}

// token shows what is stored, without the tokens themselves.
func (a *app) token(w http.ResponseWriter, r *http.Request) {
	tok, err := a.store.Load(r.Context())
	if err != nil {
		render(w, http.StatusNotFound, view{Title: "Nothing stored", Error: "No token is stored yet."})
		return
	}
	v := view{Title: "Connected", Token: &tokenView{
		File:           a.store.Path(),
		AccountsServer: tok.AccountsServer,
		APIDomain:      tok.APIDomain,
		Scopes:         strings.Fields(tok.Scope),
		Expiry:         tok.Expiry.Local().Format(time.RFC1123),
		Refreshable:    tok.RefreshToken != "",
	}}
	if dc, err := zohoauth.DataCenterFromRedirect("", tok.AccountsServer); err == nil {
		v.Token.DataCenter = dc.Location
	}
	render(w, http.StatusOK, v)
}

type view struct {
	Title  string
	Error  string
	Stored bool
	Token  *tokenView
}

type tokenView struct {
	File, DataCenter, AccountsServer, APIDomain, Expiry string
	Scopes                                              []string
	Refreshable                                         bool
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} - zohoauth web consent</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:3rem auto} .error{color:#b00020} th{text-align:left;padding-right:1rem}</style>
</head><body>
<h1 id="title">{{.Title}}</h1>
{{if .Error}}<p class="error" id="error">{{.Error}}</p><p><a href="/">Back</a></p>{{end}}
{{if .Token}}
<table id="token">
<tr><th>token file</th><td id="file">{{.Token.File}}</td></tr>
<tr><th>data center</th><td id="dc">{{or .Token.DataCenter "(not one of Zoho's: a test server)"}}</td></tr>
<tr><th>accounts server</th><td id="accounts">{{.Token.AccountsServer}}</td></tr>
<tr><th>api_domain</th><td id="api_domain">{{.Token.APIDomain}}</td></tr>
<tr><th>scopes</th><td><ul id="scopes">{{range .Token.Scopes}}<li>{{.}}</li>{{end}}</ul></td></tr>
<tr><th>access token</th><td id="expiry">stored, expires {{.Token.Expiry}}</td></tr>
<tr><th>refresh token</th><td id="refresh">{{if .Token.Refreshable}}stored{{else}}none{{end}}</td></tr>
</table>
<p><a href="/">Back</a></p>
{{else if not .Error}}
<p>Connect this app to your Zoho account. Zoho asks you which data it may use; the token is then stored on this server.</p>
<form method="post" action="/connect"><button id="connect" type="submit">Connect Zoho</button></form>
{{if .Stored}}<p>A token is already stored: <a href="/token" id="stored">see it</a>. Connecting again replaces it.</p>{{end}}
{{end}}
</body></html>
`))

func render(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = page.Execute(w, v)
}
