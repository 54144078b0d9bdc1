// Package zohotest is a fake Zoho for tests: an accounts server (the OAuth
// token endpoint) and the APIs of several Zoho products (CRM, Books,
// WorkDrive, Desk, Mail, Projects), in three data centers, US, EU and AE.
//
// It answers as Zoho does, so that a client tested against it behaves
// against Zoho; where Zoho is known to vary, the default is Zoho's usual
// answer and an Options field switches on the variant a client must
// survive:
//
//   - token errors come as HTTP 200 with an "error" field (invalid_code,
//     invalid_client, invalid_client_secret, "Access Denied" when throttled);
//   - a refresh answer carries api_domain but no refresh_token
//     (OmitAPIDomainOnRefresh leaves api_domain out too);
//   - at most ThrottleLimit access tokens are minted per refresh token in a
//     sliding ThrottleWindow, and at most MaxLiveTokens live at once (minting
//     one more silently kills the oldest);
//   - grant codes are single-use and expire; codes and tokens work only in the
//     data center that issued them;
//   - the APIs take "Authorization: Zoho-oauthtoken <token>" only
//     (AcceptBearer lets them take Bearer too), and each product answers a
//     dead token and a missing scope in its own words: CRM 401
//     INVALID_TOKEN and OAUTH_SCOPE_MISMATCH, Books 401 code 57 for both,
//     Desk 401 INVALID_OAUTH and 403 SCOPE_MISMATCH, and so on;
//   - CRM's records API lists with a required fields parameter (400
//     REQUIRED_PARAM_MISSING without it), pages with page and per_page,
//     answers 204 with no body when there is nothing to list, gets a record
//     by id, and answers a create with the new ids; APICredits makes it
//     answer 429 TOO_MANY_REQUESTS with details.retry_after.
//
// The CRM answers are checked against Zoho's own OpenAPI document by the
// repository's conformance module. docs/zohotest.md lists what the fake
// models and what it does not.
//
// A Server needs no listener. Its Transport routes requests for the real
// Zoho hosts (accounts.zoho.com, www.zohoapis.eu, desk.zoho.ae, ...) to the
// fake in memory, on the calling goroutine, and refuses every other host, so
// a test never touches the network. That mode works inside testing/synctest
// bubbles, where token lifetimes, code expiry and the throttle window follow
// the bubble's fake clock. Create the Server inside the bubble that uses it.
//
// Start additionally serves each data center on loopback httptest.Servers;
// DC then reports the URL of the one for accounts and CRM, ProductURL the
// base URL of each product. Handler gives a data center's http.Handler for
// wiring into a server of one's own.
//
// The accounts server also serves how a person gets a first token: the
// device login (/oauth/v3/device/code, /oauth/v3/device/token and the
// verification page /oauth/v3/device) and the consent page of the web flow
// (/oauth/v2/auth). Tests approve or deny without a browser through
// ApproveDevice, DenyDevice, ApproveConsent and DenyConsent; LoginOptions
// tunes lifetimes and the poll interval.
//
// SetFault makes the token endpoint slow, failing, garbled or unreachable;
// Script queues one such answer per call. Stats reports what the fake saw,
// for assertions.
//
// Every method is safe for concurrent use. Tokens, codes and secrets are
// fake and never leave the process.
package zohotest
