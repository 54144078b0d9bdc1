module github.com/go-zoho/zohoauth

go 1.25.0

require (
	github.com/gofrs/flock v0.12.1
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/jarcoal/httpmock v1.4.2
	go.uber.org/goleak v1.3.0
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
