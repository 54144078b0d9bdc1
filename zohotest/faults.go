package zohotest

import (
	"fmt"
	"net/http"
	"strings"
)

// SetFault makes the token endpoint misbehave as f says, replacing any
// earlier fault. SetFault(Fault{}) clears it. Replies queued with Script
// come first.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.faultLeft = f, f.Count
}

// Script queues one answer per token call: the next token call gets
// replies[0], the one after replies[1], and so on; a zero Fault in the
// list answers that call normally. Once the list is used up the token
// endpoint behaves normally again (or as SetFault says). A new Script
// replaces what is left of the earlier one; Script() clears it. Every
// scripted call counts in Stats like any other.
//
// For example, a 503 asking for a 2 s wait, then a throttle answer, then
// tokens:
//
//	s.Script(
//		zohotest.Fault{Status: 503, Header: http.Header{"Retry-After": {"2"}}},
//		zohotest.Fault{Body: `{"error":"Access Denied"}`},
//	)
func (s *Server) Script(replies ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append([]Fault(nil), replies...)
}

// takeFaultLocked returns the fault for one token call and uses it up.
func (s *Server) takeFaultLocked() Fault {
	if len(s.script) > 0 {
		f := s.script[0]
		s.script = s.script[1:]
		return f
	}
	f := s.fault
	if !f.active() {
		return Fault{}
	}
	if s.faultLeft > 0 {
		s.faultLeft--
		if s.faultLeft == 0 {
			s.fault = Fault{}
		}
	}
	return f
}

// applyFault acts out f and reports whether it answered the request.
func (s *Server) applyFault(f Fault, w http.ResponseWriter, r *http.Request) bool {
	if f.Latency > 0 {
		if err := s.wait(r.Context(), f.Latency); err != nil {
			abort(w, err)
			return true
		}
	}
	switch {
	case f.Drop:
		abort(w, errDropped)
		return true
	case f.Status != 0:
		body := f.Body
		if body == "" && f.Status >= 400 {
			text := fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status))
			body = "<html><head><title>" + text + "</title></head><body><h1>" + text + "</h1></body></html>\n"
		}
		writeRaw(w, f.Status, f.Header, body)
	case f.Body != "":
		writeRaw(w, http.StatusOK, f.Header, f.Body)
	default:
		return false
	}
	return true
}

// writeRaw answers with status, the extra header and body, typed as HTML
// or JSON by its first character.
func writeRaw(w http.ResponseWriter, status int, header http.Header, body string) {
	ctype := "application/json;charset=UTF-8"
	if strings.HasPrefix(strings.TrimSpace(body), "<") {
		ctype = "text/html;charset=UTF-8"
	}
	w.Header().Set("Content-Type", ctype)
	for k, vs := range header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(status)
	w.Write([]byte(body))
}
