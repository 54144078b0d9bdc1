module github.com/go-zoho/zohoauth/conformance

go 1.25.0

require (
	github.com/getkin/kin-openapi v0.153.0
	github.com/go-zoho/zohoauth v0.1.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/go-openapi/jsonpointer v0.22.5 // indirect
	github.com/go-openapi/swag/jsonname v0.25.5 // indirect
	github.com/gofrs/flock v0.12.1 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	go.yaml.in/yaml/v4 v4.0.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
	golang.org/x/text v0.14.0 // indirect
)

// An internal module, never tagged: it builds against the working tree of
// the modules in this repository (docs/releasing.md).
replace github.com/go-zoho/zohoauth => ../
