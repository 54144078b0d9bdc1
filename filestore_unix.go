//go:build unix

package zohoauth

import (
	"io/fs"
	"syscall"
)

// openNoBlock is added to the flags of every open of a path that something
// other than a regular file might occupy: opening a FIFO without it waits
// for a writer, forever and whatever the context says.
const openNoBlock = syscall.O_NONBLOCK

// fileOwner returns the user id that owns the file fi describes.
func fileOwner(fi fs.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
