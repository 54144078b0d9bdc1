// Command flighttrace reads a Go execution trace (go test -trace) and
// prints, for every refresh a zohoauth Source ran (a goroutine started by
// Source.startFlight), where its time went: the system calls it made, how
// long it waited for the token endpoint, and how long it sat runnable
// without a CPU, in particular after a system call during which the runtime
// gave its P to other goroutines.
//
//	go test -run '^$' -bench 'Storm/n=10000' -benchtime 3x -trace storm.trace
//	go run ./flighttrace storm.trace
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	flag.Usage = func() { fmt.Fprintln(os.Stderr, "usage: flighttrace trace-file") }
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "flighttrace:", err)
		os.Exit(1)
	}
	defer f.Close()
	flights, err := analyze(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flighttrace:", err)
		os.Exit(1)
	}
	for i, fl := range flights {
		fmt.Printf("flight %d (goroutine %d), %d system calls (%v in them), waited %v, runnable %v\n",
			i+1, fl.goroutine, fl.syscalls, ms(fl.inSyscalls), ms(fl.waiting), ms(fl.runnable))
		for _, l := range fl.lostP {
			fmt.Printf("  lost its P in %s (%v), then runnable %v\n", l.call, ms(l.syscall), ms(l.queued))
		}
	}
}

// flight is what one refresh goroutine did.
type flight struct {
	goroutine  trace.GoID
	syscalls   int
	inSyscalls time.Duration // total time in system calls
	waiting    time.Duration // blocked (the token endpoint, locks, channels)
	runnable   time.Duration // ready to run, without a P
	lostP      []lostP
	calls      map[string]bool // the innermost frame of each system call
}

// lostP is a system call after which the goroutine had to queue for a P
// again, and how long it queued.
type lostP struct {
	call    string
	syscall time.Duration
	queued  time.Duration
}

// analyze reads a trace and returns the refresh goroutines in the order
// they were created.
func analyze(r io.Reader) ([]*flight, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return nil, err
	}
	var order []*flight
	live := map[trace.GoID]*flight{}
	since := map[trace.GoID]trace.Time{}
	callOf := map[trace.GoID]string{}
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			return order, nil
		}
		if err != nil {
			return nil, err
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		id := st.Resource.Goroutine()
		from, to := st.Goroutine()
		if from == trace.GoNotExist && to == trace.GoRunnable {
			if startedBy(ev.Stack(), "(*Source).startFlight") {
				fl := &flight{goroutine: id, calls: map[string]bool{}}
				live[id], since[id] = fl, ev.Time()
				order = append(order, fl)
			}
			continue
		}
		fl := live[id]
		if fl == nil {
			continue
		}
		d := time.Duration(ev.Time() - since[id])
		since[id] = ev.Time()
		switch from {
		case trace.GoSyscall:
			fl.inSyscalls += d
			if to == trace.GoRunnable {
				fl.lostP = append(fl.lostP, lostP{call: callOf[id], syscall: d})
			}
		case trace.GoWaiting:
			fl.waiting += d
		case trace.GoRunnable:
			fl.runnable += d
			if n := len(fl.lostP); n > 0 && fl.lostP[n-1].queued == 0 {
				fl.lostP[n-1].queued = d
			}
		}
		switch to {
		case trace.GoSyscall:
			fl.syscalls++
			callOf[id] = innermost(st.Stack)
			fl.calls[callOf[id]] = true
		case trace.GoNotExist:
			delete(live, id)
		}
	}
}

// startedBy reports whether the stack that created a goroutine includes a
// function whose name ends with fn.
func startedBy(st trace.Stack, fn string) bool {
	for f := range st.Frames() {
		if strings.HasSuffix(f.Func, fn) {
			return true
		}
	}
	return false
}

// innermost names the system call a stack is in: its first frame outside
// package syscall and the runtime's internals, with the frame below it.
func innermost(st trace.Stack) string {
	var names []string
	for f := range st.Frames() {
		names = append(names, f.Func)
	}
	for i, n := range names {
		if strings.HasPrefix(n, "syscall.") || strings.HasPrefix(n, "internal/") || strings.HasPrefix(n, "runtime.") {
			continue
		}
		if i > 0 {
			return names[i-1] + " in " + n
		}
		return n
	}
	if len(names) > 0 {
		return names[0]
	}
	return "?"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
