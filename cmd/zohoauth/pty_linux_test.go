package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// openPTY opens a pseudo-terminal: what is written to tty can be read
// from master. It skips the test where there is none.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	var unlock int32
	var n uint32
	if err := ioctl(m, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Skipf("cannot unlock the pseudo-terminal: %v", err)
	}
	if err := ioctl(m, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Skipf("cannot name the pseudo-terminal: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("cannot open the pseudo-terminal: %v", err)
	}
	return m, s
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

// An API response with raw escape sequences reaches a terminal escaped.
func TestAPIBodyToTerminal(t *testing.T) {
	f := newFixture(t, zohotest.Options{})
	f.exchange()
	raw := "Leads: " + hostile + " ok\n"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, raw) }))
	defer api.Close()
	tok := f.stored()
	tok.APIDomain = api.URL
	if err := zohoauth.NewFileStore(f.file).Save(context.Background(), tok); err != nil {
		t.Fatal(err)
	}

	master, tty := openPTY(t)
	read := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, master) // ends with EIO once tty is closed
		read <- buf.Bytes()
	}()
	var errs bytes.Buffer
	status := run([]string{"api", "GET", "/crm/v8/Leads", "-token-file", f.file}, tty, &errs, func(k string) string { return f.env[k] })
	tty.Close()
	var got []byte
	select {
	case got = <-read:
	case <-time.After(10 * time.Second):
		master.Close()
		got = <-read
		t.Error("the terminal's output did not end")
	}
	f.record([]string{"api"}, string(got), errs.String())
	if status != exitOK {
		t.Fatalf("api: status %d, stderr %q", status, errs.String())
	}
	// The terminal turns "\n" into "\r\n" on its own; the rest is ours.
	shown := strings.ReplaceAll(string(got), "\r\n", "\n")
	checkTerminalSafe(t, "api to a terminal", shown)
	if !strings.Contains(shown, "Leads: "+escapedFn) || !strings.HasSuffix(shown, " ok\n") {
		t.Errorf("api to a terminal showed %q; want the body with its escapes as text", shown)
	}
}
