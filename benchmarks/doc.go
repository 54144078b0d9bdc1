// Package benchmarks measures zohoauth side by side with golang.org/x/oauth2
// and cloud.google.com/go/auth. It holds only benchmarks and the tests that
// keep their harness honest; see README.md for the scenarios and results.
package benchmarks
