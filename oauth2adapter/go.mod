module github.com/go-zoho/zohoauth/oauth2adapter

go 1.25.0

require (
	github.com/go-zoho/zohoauth v0.1.0
	go.uber.org/goleak v1.3.0
	golang.org/x/oauth2 v0.36.0
)

require (
	github.com/gofrs/flock v0.12.1 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	golang.org/x/sys v0.30.0 // indirect
)

// Inside this repository the module builds against the root module's
// working tree. Users never see this replace: they get the version
// required above (docs/releasing.md).
replace github.com/go-zoho/zohoauth => ../
