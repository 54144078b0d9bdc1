// Package zohotest is a fake Zoho for tests: an accounts server (the OAuth
// token endpoint) and a small CRM API, for two data centers, US and EU.
//
// It speaks Zoho's wire protocol, quirks included, so that a client tested
// against it behaves against Zoho:
//
//   - token errors come as HTTP 200 with an "error" field (invalid_code,
//     invalid_client, invalid_client_secret, "Access Denied" when throttled);
//   - a refresh response carries neither refresh_token nor api_domain;
//   - at most ThrottleLimit access tokens are minted per refresh token in a
//     sliding ThrottleWindow, and at most MaxLiveTokens live at once (minting
//     one more silently kills the oldest);
//   - grant codes are single-use and expire; codes and tokens work only in the
//     data center that issued them;
//   - the API answers 401 INVALID_TOKEN or OAUTH_SCOPE_MISMATCH like Zoho CRM.
//
// A Server needs no listener. Its Transport routes requests for the real Zoho
// hosts (accounts.zoho.com, www.zohoapis.com, accounts.zoho.eu, ...) to the
// fake in memory, on the calling goroutine, and refuses every other host, so
// a test never touches the network. That mode works inside testing/synctest
// bubbles, where token lifetimes, code expiry and the throttle window follow
// the bubble's fake clock. Create the Server inside the bubble that uses it.
//
// Start additionally serves each data center on a loopback httptest.Server;
// DC then reports those URLs. Handler gives a data center's http.Handler for
// wiring into a server of one's own.
//
// The accounts server also serves how a person gets a first token: the
// device login (/oauth/v3/device/code, /oauth/v3/device/token and the
// verification page /oauth/v3/device) and the consent page of the web flow
// (/oauth/v2/auth). Tests approve or deny without a browser through
// ApproveDevice, DenyDevice, ApproveConsent and DenyConsent; LoginOptions
// tunes lifetimes and the poll interval.
//
// SetFault makes the token endpoint slow, failing, garbled or unreachable.
// Stats reports what the fake saw, for assertions.
//
// Every method is safe for concurrent use. Tokens, codes and secrets are
// fake and never leave the process.
package zohotest
