// Package browsertest drives the login flows of zohoauth through a real,
// headless Chromium: "zohoauth login" with the fake's verification page,
// and the web consent example with the fake's consent page.
//
// It is a module of its own so that the root module never depends on
// chromedp. The tests skip when no Chromium is installed, unless
// ZOHOAUTH_BROWSER_TESTS=require (as .ci/browser.sh sets), which makes a
// missing browser a failure. ZOHOAUTH_CHROMIUM names the browser binary
// when it is not on PATH as chromium or chromium-browser.
package browsertest
