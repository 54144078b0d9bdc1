//go:build unix

package zohoauth_test

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/go-zoho/zohoauth"
)

// limitFileSize caps the size of files this process may write, so the next
// write past it fails as on a full disk (EFBIG). Unlike permission bits, the
// limit binds root too.
func limitFileSize(limit string) error {
	n, err := strconv.ParseUint(limit, 10, 64)
	if err != nil {
		return err
	}
	signal.Ignore(syscall.SIGXFSZ)
	return syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n})
}

func TestFileStoreRefusesSharedPermissions(t *testing.T) {
	for mode, refused := range map[os.FileMode]bool{
		0o644: true, 0o660: true, 0o640: true, 0o604: true, 0o620: true, 0o602: true, 0o666: true,
		0o600: false, 0o400: false, 0o700: false,
	} {
		t.Run(strconv.FormatUint(uint64(mode), 8), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token.json")
			s := zohoauth.NewFileStore(path)
			mustSave(t, s, numbered(1))
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			if !refused {
				assertHolds(t, s, 1)
				return
			}
			_, err := s.Load(context.Background())
			checkErr(t, err, path, secretsOf(numbered(1))...)
			if msg := err.Error(); !strings.Contains(msg, "chmod 600") || !strings.Contains(msg, "other users") {
				t.Errorf("error %q does not say what is wrong and what to do", msg)
			}
		})
	}
}

func TestFileStoreModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	base := t.TempDir()
	path := filepath.Join(base, "new", "token.json")
	s := zohoauth.NewFileStore(path)
	mustSave(t, s, numbered(1))
	assertMode(t, filepath.Dir(path), os.ModeDir|0o700)
	assertMode(t, path, 0o600)
	// A file that had a loose mode comes out private after a Save.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, numbered(2))
	assertMode(t, path, 0o600)
	unlock, err := s.Lock(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	assertMode(t, s.LockPath(), 0o600)
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s has mode %v; want %v", filepath.Base(path), fi.Mode(), want)
	}
}

// TestFileStoreDiskFull makes the write itself fail, as on a full disk, by
// running Save in a child whose file size limit is below a token's size.
func TestFileStoreDiskFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	s := zohoauth.NewFileStore(path)
	mustSave(t, s, numbered(1))
	cmd := helperCmd(t, "save-once", path, "40")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v (the save should have failed; exit code 3 means it succeeded)", err)
	}
	msg := string(out)
	checkErr(t, errorString(msg), path, secretsOf(numbered(1), numbered(2))...)
	if !strings.Contains(msg, "file too large") || !strings.Contains(msg, "unchanged") {
		t.Errorf("error %q does not say what failed", msg)
	}
	assertHolds(t, s, 1)
	assertNoTempFiles(t, filepath.Dir(path))
	t.Logf("Save with a 40-byte file size limit: %s", msg)
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestFileStoreReadOnlyFolder saves into a folder the process may not write.
// Root ignores permission bits, so as root the save runs in a child process
// as user nobody (65534); where that child cannot start, the test is skipped.
func TestFileStoreReadOnlyFolder(t *testing.T) {
	// The folder chain must be searchable by nobody.
	base, err := os.MkdirTemp("", "zohoauth-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(base, "ro"), 0o700); os.RemoveAll(base) })
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "ro")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "token.json")
	s := zohoauth.NewFileStore(path)
	mustSave(t, s, numbered(1))
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}

	var msg string
	if os.Geteuid() != 0 {
		err := s.Save(context.Background(), numbered(2))
		checkErr(t, err, path, secretsOf(numbered(1), numbered(2))...)
		msg = err.Error()
	} else {
		const nobody = 65534
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		// The file is nobody's now: this process checks it with nobody's consent.
		s = zohoauth.NewFileStore(path, zohoauth.AllowFileOwner(nobody))
		// The test binary's own folder is private: run a copy.
		bin := filepath.Join(base, "zohoauth.test")
		if err := copyExecutable(bin); err != nil {
			t.Fatal(err)
		}
		cmd := helperCmd(t, "save-once", path)
		cmd.Path = bin
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.Output()
		if cmd.ProcessState == nil {
			t.Skipf("running as root and cannot start a child as nobody (%v): only a non-root run checks this", err)
		}
		if err != nil {
			t.Fatalf("child as nobody: %v (exit code 3 means the save succeeded)", err)
		}
		msg = string(out)
		checkErr(t, errorString(msg), path, secretsOf(numbered(1), numbered(2))...)
	}
	if !strings.Contains(msg, "permission denied") || !strings.Contains(msg, "unchanged") {
		t.Errorf("error %q does not say what failed", msg)
	}
	assertHolds(t, s, 1)
	t.Logf("Save into a read-only folder: %s", msg)
}

func copyExecutable(to string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}
