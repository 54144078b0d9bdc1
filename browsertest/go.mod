module github.com/go-zoho/zohoauth/browsertest

go 1.26.0

// An internal module, never tagged: it builds against the working tree of
// the modules in this repository (docs/releasing.md).
replace github.com/go-zoho/zohoauth => ../

require (
	github.com/chromedp/chromedp v0.23.1
	github.com/go-zoho/zohoauth v0.1.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/gofrs/flock v0.12.1 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
