//go:build !unix

package zohoauth_test

import "errors"

// limitFileSize needs setrlimit, which only Unix has; the disk-full test
// skips without it.
func limitFileSize(string) error { return errors.ErrUnsupported }
