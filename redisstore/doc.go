// Package redisstore keeps a Zoho account's token in Redis and makes the
// processes that share it refresh one at a time and count against one
// budget of token calls.
//
// A *Store implements zohoauth.Store, zohoauth.Locker, zohoauth.Ledger and
// zohoauth.Deleter. Give it to zohoauth.WithStore and every process using
// the same Redis and account name loads the same token; at most one of them
// calls Zoho's token endpoint when it gets old, the others wait on the lock
// and pick up what the holder saved; and all of them together make at most
// the 10 token calls per 10 minutes that Zoho allows a refresh token.
//
// Keys, with the default prefix "zohoauth:" and account "crm-prod":
//
//	zohoauth:{crm-prod}:token   the token as JSON (zohoauth.Token's MarshalJSON), no TTL
//	zohoauth:{crm-prod}:lock    the refresh lock: a random holder id, TTL LockTTL, renewed while held
//	zohoauth:{crm-prod}:calls   the token calls in the last 10 minutes: a sorted set, TTL past the newest's window
//	zohoauth:{crm-prod}:state   the Sources' shared refresh state (JSON, at most 4 KiB), TTL StateTTL
//
// The braces are a Redis Cluster hash tag: every key of one account lives in
// the same slot.
package redisstore
