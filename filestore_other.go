//go:build !unix

package zohoauth

// openNoBlock is zero where opens do not wait on FIFOs as they do on Unix.
const openNoBlock = 0
