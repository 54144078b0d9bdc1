package benchmarks

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runQueueWait is how long this process's threads have, in total, been
// ready to run but waiting for a CPU that another process held: the second
// field of Linux's /proc/self/task/<tid>/schedstat. On a shared machine it
// tells a slow run caused by other work from one caused by the code under
// test. ok is false where the kernel does not report it.
func runQueueWait() (d time.Duration, ok bool) {
	tasks, err := filepath.Glob("/proc/self/task/*/schedstat")
	if err != nil || len(tasks) == 0 {
		return 0, false
	}
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that just exited
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return 0, false
		}
		ns, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, false
		}
		d += time.Duration(ns)
	}
	return d, true
}
