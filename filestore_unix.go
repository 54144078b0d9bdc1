//go:build unix

package zohoauth

import "syscall"

// openNoBlock is added to the flags of every open of a path that something
// other than a regular file might occupy: opening a FIFO without it waits
// for a writer, forever and whatever the context says.
const openNoBlock = syscall.O_NONBLOCK
