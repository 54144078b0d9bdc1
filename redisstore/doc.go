// Package redisstore keeps a Zoho account's token in Redis and makes the
// processes that share it refresh one at a time.
//
// A *Store implements zohoauth.Store, zohoauth.Locker and zohoauth.Deleter.
// Give it to zohoauth.WithStore and every process using the same Redis and
// account name loads the same token, and at most one of them calls Zoho's
// token endpoint when it gets old; the others wait on the lock and pick up
// what the holder saved.
//
// Keys, with the default prefix "zohoauth:" and account "crm-prod":
//
//	zohoauth:{crm-prod}:token   the token as JSON (zohoauth.Token's MarshalJSON), no TTL
//	zohoauth:{crm-prod}:lock    the refresh lock: a random holder id, with a TTL
//
// The braces are a Redis Cluster hash tag: both keys of one account live in
// the same slot.
package redisstore
