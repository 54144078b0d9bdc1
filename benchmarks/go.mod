module github.com/go-zoho/zohoauth/benchmarks

go 1.26.0

require (
	cloud.google.com/go/auth v0.24.4
	github.com/go-zoho/zohoauth v0.1.0
	github.com/go-zoho/zohoauth/redisstore v0.1.0
	github.com/redis/go-redis/v9 v9.22.0
	go.uber.org/goleak v1.3.0
	golang.org/x/exp v0.0.0-20261113113407-e3970619a1a4
	golang.org/x/oauth2 v0.38.0
)

require (
	cloud.google.com/go/compute/metadata v0.10.0 // indirect
	github.com/bsm/redislock v0.9.4 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/gofrs/flock v0.12.1 // indirect
	github.com/googleapis/gax-go/v2 v2.27.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

// An internal module, never tagged: it builds against the working tree of
// the modules in this repository (docs/releasing.md).
replace (
	github.com/go-zoho/zohoauth => ../
	github.com/go-zoho/zohoauth/redisstore => ../redisstore
)
