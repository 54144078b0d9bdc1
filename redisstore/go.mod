module github.com/go-zoho/zohoauth/redisstore

go 1.25.0

require (
	github.com/bsm/redislock v0.9.4
	github.com/go-zoho/zohoauth v0.1.0
	github.com/redis/go-redis/v9 v9.22.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/gofrs/flock v0.12.1 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)

// Inside this repository the module builds against the root module's
// working tree. Users never see this replace: they get the version
// required above (docs/releasing.md).
replace github.com/go-zoho/zohoauth => ../
