package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// browserWait is how long openBrowser waits to see whether the opener
// failed. Openers such as xdg-open, open and rundll32 hand the address to
// the browser and exit at once; a browser named by $BROWSER may keep
// running, and is left to run.
const browserWait = 3 * time.Second

// openBrowser opens rawURL, an http or https address, in the user's
// browser, if there is one. It never runs a shell: the address is one
// argument of the opener. An error says why no browser was opened.
func openBrowser(ctx context.Context, rawURL string, env func(string) string) error {
	if !strings.HasPrefix(rawURL, "https://") && !strings.HasPrefix(rawURL, "http://") {
		return errors.New("not a web address")
	}
	argv, err := browserCommand(rawURL, env, runtime.GOOS)
	if err != nil {
		return err
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("%s was not found", argv[0])
	}
	cmd := exec.Command(path, argv[1:]...) // stdin, stdout and stderr: the null device
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s could not be started", filepath.Base(path))
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(browserWait)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s failed: %v", filepath.Base(path), err)
		}
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil
}

// browserCommand is the command that opens rawURL: $BROWSER when set (a
// list separated by colons, the first entry used; "%s" in it stands for the
// address, else the address is added), else the system's opener. On Linux
// and the BSDs that needs a graphical session: without DISPLAY or
// WAYLAND_DISPLAY (a server, an SSH session) there is no browser to open.
func browserCommand(rawURL string, env func(string) string, goos string) ([]string, error) {
	for _, entry := range strings.Split(env("BROWSER"), string(filepathListSeparator(goos))) {
		fields := strings.Fields(entry)
		if len(fields) == 0 {
			continue
		}
		replaced := false
		for i, f := range fields {
			if strings.Contains(f, "%s") {
				fields[i] = strings.ReplaceAll(f, "%s", rawURL)
				replaced = true
			}
		}
		if !replaced {
			fields = append(fields, rawURL)
		}
		return fields, nil
	}
	switch goos {
	case "darwin":
		return []string{"open", rawURL}, nil
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler", rawURL}, nil
	case "android", "ios", "js", "wasip1", "plan9":
		return nil, fmt.Errorf("no browser opener on %s", goos)
	}
	if env("DISPLAY") == "" && env("WAYLAND_DISPLAY") == "" {
		return nil, errors.New("no graphical session here")
	}
	return []string{"xdg-open", rawURL}, nil
}

func filepathListSeparator(goos string) rune {
	if goos == "windows" {
		return ';'
	}
	return ':'
}
