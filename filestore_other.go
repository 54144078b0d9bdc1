//go:build !unix

package zohoauth

import "io/fs"

// openNoBlock is zero where opens do not wait on FIFOs as they do on Unix.
const openNoBlock = 0

// fileOwner reports no owner: this system has no Unix user ids, and the
// store checks ownership only where it has.
func fileOwner(fs.FileInfo) (uid int, ok bool) { return 0, false }
