module github.com/go-zoho/zohoauth/examples/generated

go 1.25.0

require (
	github.com/go-zoho/zohoauth v0.1.0
	github.com/oapi-codegen/runtime v1.8.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/apapsch/go-jsonmerge/v2 v2.0.0 // indirect
	github.com/gofrs/flock v0.12.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	golang.org/x/sys v0.39.0 // indirect
)

// An internal module, never tagged: it builds against the working tree of
// the modules in this repository (docs/releasing.md).
replace github.com/go-zoho/zohoauth => ../..
