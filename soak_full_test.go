//go:build soak

package zohoauth_test

// With -tags soak the soak test sends a million requests.
func init() { soakRequests = 1_000_000 }
