package main

import (
	"fmt"
	"io"
	"time"
)

// Waiting indicator timings.
const (
	spinnerTick    = 120 * time.Millisecond // a terminal: the spinner's frame rate
	plainLineEvery = 30 * time.Second       // a file or pipe: one line this often
)

var spinnerFrames = []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

// waiting shows that login is waiting for the user: on a terminal a
// spinner with the time so far redrawn in place, elsewhere (a log, a pipe,
// CI) a plain line now and then.
type waiting struct {
	quit chan struct{}
	done chan struct{}
}

// startWaiting starts showing on w that the login waits, until stop.
// expiry is when the user code stops working.
func startWaiting(w io.Writer, tty bool, expiry time.Time) *waiting {
	wt := &waiting{quit: make(chan struct{}), done: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(wt.done)
		every := plainLineEvery
		if tty {
			every = spinnerTick
		}
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		for frame := 0; ; frame++ {
			elapsed := time.Since(start).Truncate(time.Second)
			left := max(time.Until(expiry).Truncate(time.Second), 0)
			switch {
			case tty:
				fmt.Fprintf(w, "\r%c Waiting for you to accept in the browser: %s so far, the code expires in %s\x1b[K",
					spinnerFrames[frame%len(spinnerFrames)], clock(elapsed), clock(left))
			case frame == 0:
				fmt.Fprintf(w, "Waiting for you to accept in the browser (the code expires in %s)...\n", left)
			default:
				fmt.Fprintf(w, "Still waiting: %s so far, the code expires in %s.\n", elapsed, left)
			}
			select {
			case <-wt.quit:
				if tty {
					io.WriteString(w, "\r\x1b[K") // leave a clean line for what follows
				}
				return
			case <-ticker.C:
			}
		}
	}()
	return wt
}

// stop ends the indicator and returns once it wrote its last output.
func (wt *waiting) stop() {
	close(wt.quit)
	<-wt.done
}

// clock formats a duration as m:ss.
func clock(d time.Duration) string {
	s := int(d / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
