package zohoauth_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest/storetest"
)

func TestFileStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) zohoauth.Store {
		return zohoauth.NewFileStore(filepath.Join(t.TempDir(), "token.json"))
	})
}

// Child processes. A test re-executes the test binary with helperEnv naming
// one of these; the child does its part and exits with the returned code.
// Arguments travel in helperArgEnv, joined by helperArgSep.
const (
	helperEnv    = "ZOHOAUTH_TEST_HELPER"
	helperArgEnv = "ZOHOAUTH_TEST_HELPER_ARGS"
	helperArgSep = "\x1f"
)

var helpers = map[string]func(args []string) int{
	"save-loop":   helperSaveLoop,
	"save-once":   helperSaveOnce,
	"lock-append": helperLockAppend,
	"lock-hold":   helperLockHold,
}

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("runs only as a child process of other tests")
	}
	run, ok := helpers[mode]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", mode)
		os.Exit(2)
	}
	os.Exit(run(strings.Split(os.Getenv(helperArgEnv), helperArgSep)))
}

// helperCmd prepares a child running helper mode with args.
func helperCmd(t *testing.T, mode string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		helperEnv+"="+mode,
		helperArgEnv+"="+strings.Join(args, helperArgSep),
		// A race-enabled binary otherwise sleeps a second before exiting.
		"GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"),
	)
	cmd.Stderr = &prefixWriter{t: t, prefix: mode + ": "}
	return cmd
}

// prefixWriter passes a child's stderr to the test log.
type prefixWriter struct {
	t      *testing.T
	prefix string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// numbered returns the complete token number n: every field derives from n.
func numbered(n int) *zohoauth.Token { return storetest.Sample(n) }

// numberOf tells which numbered token tok is, or -1 if it is not one whole.
func numberOf(tok *zohoauth.Token) int {
	var n int
	if _, err := fmt.Sscanf(tok.AccessToken, "1000.access%d.secret", &n); err != nil {
		return -1
	}
	w := numbered(n)
	if tok.AccessToken != w.AccessToken || tok.RefreshToken != w.RefreshToken || tok.TokenType != w.TokenType ||
		tok.APIDomain != w.APIDomain || tok.Scope != w.Scope || !tok.Expiry.Equal(w.Expiry) ||
		tok.AccountsServer != w.AccountsServer {
		return -1
	}
	return n
}

// helperSaveLoop saves numbered tokens base+1, base+2, ... until killed.
func helperSaveLoop(args []string) int {
	s := zohoauth.NewFileStore(args[0])
	base, _ := strconv.Atoi(args[1])
	fmt.Println("ready")
	for i := 1; ; i++ {
		if err := s.Save(context.Background(), numbered(base+i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
}

// helperSaveOnce saves token number 2 and prints Save's error, if any.
// Exit code 0: the save failed; 3: it succeeded.
func helperSaveOnce(args []string) int {
	if len(args) > 1 && args[1] != "" {
		if err := limitFileSize(args[1]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	err := zohoauth.NewFileStore(args[0]).Save(context.Background(), numbered(2))
	if err == nil {
		return 3
	}
	fmt.Print(err.Error())
	return 0
}

// helperLockAppend waits for its standard input to close, then n times:
// locks, appends "<id> in", pauses, appends "<id> out", unlocks.
func helperLockAppend(args []string) int {
	s := zohoauth.NewFileStore(args[0])
	logPath, id := args[1], args[2]
	n, _ := strconv.Atoi(args[3])
	_, _ = io.Copy(io.Discard, os.Stdin)
	for i := 0; i < n; i++ {
		unlock, err := s.Lock(context.Background(), time.Minute)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := appendLine(logPath, id+" in"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
		if err := appendLine(logPath, id+" out"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		unlock()
		// Work outside the lock gives the other process its chance: the
		// lock is polled, so a holder that relocked at once would win.
		time.Sleep(time.Duration(rand.IntN(8000)) * time.Microsecond)
	}
	return 0
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// helperLockHold locks, prints "locked", and holds the lock until its
// standard input closes or it is killed.
func helperLockHold(args []string) int {
	unlock, err := zohoauth.NewFileStore(args[0]).Lock(context.Background(), time.Minute)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	unlock()
	return 0
}

// startReady starts cmd and waits for the first line it prints.
func startReady(t *testing.T, cmd *exec.Cmd, want string) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != want {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child printed %q (%v); want %q", line, err, want)
	}
}

func TestFileStoreSurvivesKill(t *testing.T) {
	const kills = 220
	path := filepath.Join(t.TempDir(), "token.json")
	s := zohoauth.NewFileStore(path)
	ctx := context.Background()
	if err := s.Save(ctx, numbered(0)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	last, changed, torn := 0, 0, 0
	for k := 1; k <= kills; k++ {
		cmd := helperCmd(t, "save-loop", path, strconv.Itoa(k*1_000_000))
		startReady(t, cmd, "ready")
		time.Sleep(time.Duration(rand.IntN(12_000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if ps := cmd.ProcessState; ps.Exited() {
			t.Fatalf("kill %d: the child exited by itself (code %d) instead of being killed", k, ps.ExitCode())
		}
		tok, err := s.Load(ctx)
		if err != nil {
			t.Fatalf("after kill %d: %v", k, err)
		}
		n := numberOf(tok)
		if n < 0 || (n != last && n/1_000_000 != k) {
			t.Fatalf("after kill %d: the file holds a token that was never saved whole (%v)", k, tok)
		}
		if n != last {
			changed++
		}
		last = n
		// A temporary file left behind means the kill hit a save between
		// creating it and renaming it into place.
		tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".token.json.*.tmp"))
		torn += len(tmps)
		for _, f := range tmps {
			_ = os.Remove(f)
		}
	}
	t.Logf("%d kills in %v: the file changed before %d of them; %d kills interrupted a save in flight; every load gave a whole token",
		kills, time.Since(start).Round(time.Millisecond), changed, torn)
	if changed < kills/4 {
		t.Errorf("the children saved before only %d of %d kills: the test did not exercise saving", changed, kills)
	}
}

func TestFileStoreLockAcrossProcesses(t *testing.T) {
	const rounds = 40
	dir := t.TempDir()
	path := filepath.Join(dir, "token.json")
	logPath := filepath.Join(dir, "log")
	var cmds []*exec.Cmd
	var gos []io.Closer
	for _, id := range []string{"A", "B"} {
		cmd := helperCmd(t, "lock-append", path, logPath, id, strconv.Itoa(rounds))
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, gos = append(cmds, cmd), append(gos, in)
	}
	for _, g := range gos {
		g.Close() // both start together
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2*2*rounds {
		t.Fatalf("log has %d lines; want %d", len(lines), 4*rounds)
	}
	handovers := 0
	for i := 0; i < len(lines); i += 2 {
		id, _, _ := strings.Cut(lines[i], " ")
		if lines[i] != id+" in" || lines[i+1] != id+" out" {
			t.Fatalf("lines %d-%d: %q, %q: two processes held the lock at once", i, i+1, lines[i], lines[i+1])
		}
		if i > 0 && !strings.HasPrefix(lines[i-1], id) {
			handovers++
		}
	}
	t.Logf("2 processes x %d locked sections, no overlap; the lock passed between them %d times", rounds, handovers)
	if handovers == 0 {
		t.Error("the processes never contended for the lock")
	}
}

func TestFileStoreLockWaitsAndSurvivesHolderDeath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	cmd := helperCmd(t, "lock-hold", path)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	startReady(t, cmd, "locked")
	s := zohoauth.NewFileStore(path)

	short, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if unlock, err := s.Lock(short, time.Minute); err == nil {
		unlock()
		t.Fatal("Lock succeeded while another process held the lock")
	} else if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), s.LockPath()) {
		t.Fatalf("Lock while held: %v; want a DeadlineExceeded error naming the lock file", err)
	}

	// The holder dies without unlocking: the kernel releases its lock.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	ctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	began := time.Now()
	unlock, err := s.Lock(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	unlock()
	t.Logf("lock taken %v after its holder was killed", time.Since(began).Round(time.Millisecond))
}

func TestFileStoreLockSharedBySameFileStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	a, b := zohoauth.NewFileStore(path), zohoauth.NewFileStore(path)
	unlock, err := a.Lock(context.Background(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if u, err := b.Lock(short, time.Minute); err == nil {
		u()
		t.Fatal("a second FileStore for the same file locked it while the first held it")
	}
	unlock()
	u, err := b.Lock(context.Background(), time.Minute)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	u()
}

// checkErr checks an error a test expects: present, naming the file, with
// none of the secrets.
func checkErr(t *testing.T, err error, path string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, path) {
		t.Errorf("error %q does not name the file", msg)
	}
	if !strings.HasPrefix(msg, "zohoauth: ") {
		t.Errorf("error %q lacks the package prefix", msg)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error %q contains a secret", msg)
		}
	}
}

func secretsOf(toks ...*zohoauth.Token) []string {
	var s []string
	for _, t := range toks {
		s = append(s, t.AccessToken, t.RefreshToken)
	}
	return s
}

func TestFileStoreMissingFile(t *testing.T) {
	dir := t.TempDir()
	for name, path := range map[string]string{
		"file":   filepath.Join(dir, "token.json"),
		"folder": filepath.Join(dir, "no", "such", "token.json"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := zohoauth.NewFileStore(path).Load(context.Background())
			checkErr(t, err, path)
			if !errors.Is(err, zohoauth.ErrNoToken) || !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Load of a missing file: %v; want ErrNoToken and fs.ErrNotExist", err)
			}
		})
	}
}

func TestFileStoreDamagedFile(t *testing.T) {
	good, err := json.MarshalIndent(numbered(1), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	secrets := secretsOf(numbered(1))
	cases := map[string]struct {
		content string
		want    string // part of the error
	}{
		"empty":             {"", "empty"},
		"blank":             {" \n\t\n", "empty"},
		"garbage":           {"1000.access1.secret\n", "not valid JSON"},
		"two objects":       {string(good) + string(good), "not valid JSON"},
		"control byte":      {`{"access_token":"1000.access1` + "\x01" + `.secret"}`, "not valid JSON"},
		"array":             {`["1000.access1.secret"]`, "not a JSON object"},
		"string":            {`"1000.access1.secret"`, "not a JSON object"},
		"null":              {"null", "no access token"},
		"no access token":   {`{"refresh_token":"1000.refresh1.secret"}`, "no access token"},
		"number token":      {`{"access_token":10001234567}`, `"access_token" holds a number`},
		"expiry as text":    {`{"access_token":"1000.access1.secret","expiry":"1000.refresh1.secret"}`, `"expiry"`},
		"expiry as number":  {`{"access_token":"1000.access1.secret","expiry":12345}`, `"expiry"`},
		"expiry as object":  {`{"access_token":"1000.access1.secret","expiry":{"x":"1000.refresh1.secret"}}`, `"expiry"`},
		"huge":              {`{"access_token":"` + strings.Repeat("x", 70_000) + `"}`, "larger than"},
		"truncated in half": {string(good[:len(good)/2]), "truncated"},
	}
	// Every cut of a valid file short of its closing brace.
	for n := 1; n < len(good)-1; n++ {
		cases[fmt.Sprintf("cut at %d", n)] = struct{ content, want string }{string(good[:n]), ""}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token.json")
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			tok, err := zohoauth.NewFileStore(path).Load(context.Background())
			if err == nil {
				t.Fatalf("Load succeeded with %v", tok)
			}
			checkErr(t, err, path, secrets...)
			if errors.Is(err, zohoauth.ErrNoToken) {
				t.Errorf("a damaged file reads as empty: %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || !strings.Contains(msg, "zohoauth exchange") {
				t.Errorf("error %q; want it to say %q and what to do", msg, c.want)
			}
			if after, _ := os.ReadFile(path); string(after) != c.content {
				t.Error("Load changed the damaged file")
			}
		})
	}
}

func TestFileStoreSaveFailures(t *testing.T) {
	ctx := context.Background()
	secrets := secretsOf(numbered(1), numbered(2))

	t.Run("folder is a file", func(t *testing.T) {
		notDir := filepath.Join(t.TempDir(), "plain")
		if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(notDir, "token.json")
		s := zohoauth.NewFileStore(path)
		checkErr(t, s.Save(ctx, numbered(2)), path, secrets...)
		_, err := s.Load(ctx)
		checkErr(t, err, path, secrets...)
		if errors.Is(err, zohoauth.ErrNoToken) {
			t.Errorf("Load below a file: %v; want an error other than ErrNoToken", err)
		}
	})

	t.Run("path is a folder", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "token.json")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		s := zohoauth.NewFileStore(path)
		checkErr(t, s.Save(ctx, numbered(2)), path, secrets...)
		_, err := s.Load(ctx)
		checkErr(t, err, path, secrets...)
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			t.Error("the folder at the path was replaced")
		}
		assertNoTempFiles(t, filepath.Dir(path))
	})

	t.Run("cancelled before the rename", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "token.json")
		s := zohoauth.NewFileStore(path)
		mustSave(t, s, numbered(1))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Save(cctx, numbered(2)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Save with a cancelled context: %v", err)
		}
		assertHolds(t, s, 1)
		assertNoTempFiles(t, filepath.Dir(path))
	})
}

func mustSave(t *testing.T, s *zohoauth.FileStore, tok *zohoauth.Token) {
	t.Helper()
	if err := s.Save(context.Background(), tok); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

// assertHolds checks that s still holds numbered token n.
func assertHolds(t *testing.T, s *zohoauth.FileStore, n int) {
	t.Helper()
	tok, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := numberOf(tok); got != n {
		t.Fatalf("store holds token %d; want %d", got, n)
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(tmps) != 0 {
		t.Errorf("temporary files left behind: %v", tmps)
	}
}

func TestFileStoreCreatesMissingFolders(t *testing.T) {
	base := t.TempDir()
	path := filepath.Join(base, "a", "b", "token.json")
	s := zohoauth.NewFileStore(path)
	mustSave(t, s, numbered(1))
	assertHolds(t, s, 1)
	// The folder disappears (cleanup job, new volume): Save makes it again.
	if err := os.RemoveAll(filepath.Join(base, "a")); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, numbered(2))
	assertHolds(t, s, 2)
}

func TestFileStoreDelete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	s := zohoauth.NewFileStore(path)
	ctx := context.Background()
	if err := s.Delete(ctx); err != nil {
		t.Fatalf("Delete with no file: %v", err)
	}
	mustSave(t, s, numbered(1))
	if err := s.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("file still there after Delete: %v", err)
	}
}

func TestFileStoreFileFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	s := zohoauth.NewFileStore(path)
	mustSave(t, s, numbered(1))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"access_token", "refresh_token", "token_type", "api_domain", "scope", "expiry", "accounts_server"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("stored JSON lacks %q", k)
		}
	}
	if fields["accounts_server"] != "https://accounts.zoho.eu" || fields["expiry"] != "2030-01-02T03:05:05Z" {
		t.Errorf("stored JSON: accounts_server %v, expiry %v", fields["accounts_server"], fields["expiry"])
	}
}

func TestFileStoreNames(t *testing.T) {
	s := zohoauth.NewFileStore("token.json")
	if !filepath.IsAbs(s.Path()) || filepath.Base(s.Path()) != "token.json" {
		t.Errorf("Path() = %q; want an absolute path", s.Path())
	}
	if s.LockPath() != s.Path()+".lock" {
		t.Errorf("LockPath() = %q", s.LockPath())
	}
	for _, got := range []string{s.String(), fmt.Sprintf("%v", s), fmt.Sprintf("%#v", s), fmt.Sprintf("%+v", s)} {
		if !strings.Contains(got, s.Path()) || !strings.HasPrefix(got, "zohoauth.FileStore(") {
			t.Errorf("printed as %q; want the path only", got)
		}
	}
	empty := zohoauth.NewFileStore("")
	ctx := context.Background()
	if _, err := empty.Load(ctx); err == nil || errors.Is(err, zohoauth.ErrNoToken) {
		t.Errorf("Load without a path: %v", err)
	}
	if err := empty.Save(ctx, numbered(1)); err == nil {
		t.Error("Save without a path succeeded")
	}
	if _, err := empty.Lock(ctx, time.Second); err == nil {
		t.Error("Lock without a path succeeded")
	}
	if err := empty.Delete(ctx); err == nil {
		t.Error("Delete without a path succeeded")
	}
}

func TestDefaultTokenPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(t.TempDir(), "config"))
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AppData", filepath.Join(t.TempDir(), "appdata"))
	cfg, err := os.UserConfigDir()
	if err != nil {
		t.Skipf("no user config folder here: %v", err)
	}
	got, err := zohoauth.DefaultTokenPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cfg, "zohoauth", "token.json"); got != want {
		t.Fatalf("DefaultTokenPath() = %q; want %q", got, want)
	}
}

// Temporary files left by crashed saves hold tokens; Save removes this
// store's once they are an hour old, and leaves everything else alone.
func TestFileStoreSaveRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	s := zohoauth.NewFileStore(filepath.Join(dir, "token.json"))
	old := time.Now().Add(-2 * time.Hour)
	files := map[string]bool{ // name: removed by Save
		".token.json.1234567.tmp":   true,  // a crashed save's
		".token.json.7654321.tmp":   false, // recent: may be a save in progress
		".token.json.eu.123.tmp":    false, // the store of "token.json.eu"
		".token.json.backup.tmp":    false, // not a name Save makes
		".other.json.1234567.tmp":   false,
		"token.json.1234567.tmp":    false,
		".token.json.1234567.tmp.x": false,
	}
	for name, removed := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if removed || name != ".token.json.7654321.tmp" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustSave(t, s, numbered(1))
	for name, removed := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone := errors.Is(err, fs.ErrNotExist); gone != removed {
			t.Errorf("%s: removed = %v, want %v", name, gone, removed)
		}
	}
	assertHolds(t, s, 1)
}
