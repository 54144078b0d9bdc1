module github.com/go-zoho/zohoauth/benchmarks

go 1.26.0

replace github.com/go-zoho/zohoauth => ../

require (
	cloud.google.com/go/auth v0.24.4
	github.com/go-zoho/zohoauth v0.0.0
	go.uber.org/goleak v1.3.0
	golang.org/x/oauth2 v0.38.0
)

require (
	cloud.google.com/go/compute/metadata v0.10.0 // indirect
	github.com/gofrs/flock v0.12.1 // indirect
	github.com/googleapis/gax-go/v2 v2.27.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
