package zohoauth

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"
)

// peekBody reads the head of resp's body, at most limit bytes, and puts it
// back so that whoever reads the body next sees it byte for byte (resp.Body
// is replaced). It waits
// at most wait, and no longer than the request's context allows: a body that
// trickles slower is left to the caller and complete is false. It is
// complete when the whole body, or limit bytes of it, arrived in time.
func peekBody(resp *http.Response, limit int64, wait time.Duration) (head []byte, complete bool) {
	p := &peekedBody{orig: resp.Body, done: make(chan struct{})}
	resp.Body = p
	go p.fill(limit)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var ctxDone <-chan struct{}
	if resp.Request != nil {
		ctxDone = resp.Request.Context().Done()
	}
	select {
	case <-p.done:
		return p.head, p.err == nil
	case <-timer.C:
	case <-ctxDone:
	}
	return nil, false
}

// peekedBody is a response body whose head is being read, or was read, by
// peekBody. Reads wait for that read to end, then return the head and the
// rest of the original body; Close closes the original, which also ends a
// read still waiting for bytes.
type peekedBody struct {
	orig io.ReadCloser
	done chan struct{} // closed when fill has ended
	head []byte
	err  error // fill's read error, io.EOF excluded

	once sync.Once
	rest io.Reader
}

func (p *peekedBody) fill(limit int64) {
	defer close(p.done)
	p.head, p.err = io.ReadAll(io.LimitReader(p.orig, limit))
}

func (p *peekedBody) Read(b []byte) (int, error) {
	<-p.done
	p.once.Do(func() {
		if p.err != nil {
			p.rest = io.MultiReader(bytes.NewReader(p.head), errReader{p.err})
		} else {
			p.rest = io.MultiReader(bytes.NewReader(p.head), p.orig)
		}
	})
	return p.rest.Read(b)
}

// Close closes the original body; a read of the head still waiting for
// bytes then ends on its own.
func (p *peekedBody) Close() error { return p.orig.Close() }

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
